package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order a run takes them. The API scenario runs first, on an idle
// machine; the waiting scenario last, since its 10,000 watching workflows stay on the
// Temporal server.
const (
	ScenarioAPI      = "api"      // item 6
	ScenarioPlatform = "platform" // item 1
	ScenarioCost     = "cost"     // item 2
	ScenarioLatency  = "latency"  // item 4
	ScenarioDrain    = "drain"    // item 3
	ScenarioWaiting  = "waiting"  // item 5
)

// AllScenarios lists every scenario in run order.
var AllScenarios = []string{ScenarioAPI, ScenarioPlatform, ScenarioCost, ScenarioLatency, ScenarioDrain, ScenarioWaiting}

// Options configures a run.
type Options struct {
	// Scale multiplies every count (invoices, workflows, requests); 1 is the run
	// (1,000 invoices drained, 10,000 watching, ...). A small scale is a smoke check.
	Scale float64
	// Scenarios to run (nil: all), of AllScenarios.
	Scenarios []string
	// OutDir receives results.json, RESULTS.md and the SVG charts.
	OutDir string
	// BinDir holds built worker and starter binaries (make build); empty builds them.
	BinDir string
	// KeepLogs keeps the processes' logs (their directory is printed) instead of removing
	// them with the run's temporary directory.
	KeepLogs bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// DrainCapFactor bounds the drain scenario at this many times its floor (default 3):
	// a drain still running then is reported as not finished.
	DrainCapFactor float64
	// TemporalDevDefaults runs Temporal on the CLI dev server's own dynamic config, including
	// system.forceSearchAttributesCacheRefreshOnRead=true, which no cluster runs with (see
	// productionDynamicConfig).
	TemporalDevDefaults bool
}

func (o *Options) normalize() error {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.DrainCapFactor <= 1 {
		o.DrainCapFactor = 3
	}
	if o.OutDir == "" {
		return errors.New("bench: Options.OutDir is empty")
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = AllScenarios
	}
	var ordered []string
	for _, name := range AllScenarios {
		if slices.Contains(o.Scenarios, name) {
			ordered = append(ordered, name)
		}
	}
	for _, name := range o.Scenarios {
		if !slices.Contains(AllScenarios, name) {
			return fmt.Errorf("bench: unknown scenario %q (known: %s)", name, strings.Join(AllScenarios, ", "))
		}
	}
	o.Scenarios = ordered
	return nil
}

// runner carries what the scenarios of a run share.
type runner struct {
	p    *platform
	opts Options
	res  *Results
	// unlimited is the stack without rate limits shared by the platform, cost and latency
	// scenarios (made by the first of them to run).
	unlimited *stack
}

// Run runs the scenarios and writes the results into opts.OutDir. A scenario that fails
// is recorded in Results.Errors and the run goes on; the error returned is for a run that
// could not start or write its results.
func Run(ctx context.Context, opts Options) (*Results, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	prog := newProgress(opts.Progress)
	res := &Results{StartedAt: time.Now().UTC(), Scale: opts.Scale, Scenarios: opts.Scenarios, CPU: map[string]CPUUse{}}
	before := sampleCPU()
	time.Sleep(2 * time.Second)
	res.CPUBefore = before.use(sampleCPU())
	if res.CPUBefore.Others > busyMachine {
		prog.logf("setup", "WARNING: other processes keep %.2f cores busy: the figures will be lower than this machine can do", res.CPUBefore.Others)
	}
	p, err := newPlatform(ctx, opts, prog)
	if err != nil {
		return nil, err
	}
	defer p.close()
	res.Machine = describeMachine(ctx, p)
	r := &runner{p: p, opts: opts, res: res}
	for _, name := range opts.Scenarios {
		start, cpu := time.Now(), sampleCPU()
		prog.logf(name, "starting")
		err := r.run(ctx, name)
		use := cpu.use(sampleCPU())
		res.CPU[name] = use
		if use.Others > busyMachine {
			prog.logf(name, "WARNING: other processes used %.2f cores meanwhile", use.Others)
		}
		if err != nil {
			res.Errors = append(res.Errors, fmt.Sprintf("%s: %v", name, err))
			prog.logf(name, "FAILED: %v", err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		prog.logf(name, "done in %s", time.Since(start).Round(time.Second))
	}
	res.FinishedAt = time.Now().UTC()
	res.DurationSeconds = round3(res.FinishedAt.Sub(res.StartedAt).Seconds())
	if err := res.write(opts.OutDir, res.charts()); err != nil {
		return res, err
	}
	prog.logf("done", "results in %s (results.json, RESULTS.md, charts)", opts.OutDir)
	return res, ctx.Err()
}

func (r *runner) run(ctx context.Context, name string) error {
	switch name {
	case ScenarioAPI:
		return r.runAPI(ctx)
	case ScenarioPlatform:
		return r.runPlatform(ctx)
	case ScenarioCost:
		return r.runCost(ctx)
	case ScenarioLatency:
		return r.runLatency(ctx)
	case ScenarioDrain:
		return r.runDrain(ctx)
	case ScenarioWaiting:
		return r.runWaiting(ctx)
	}
	return fmt.Errorf("unknown scenario %q", name)
}

// unlimitedStack is the shared stack without rate limits: the simulators unlimited, and
// taxflow configured with a limit far above what the machine can reach.
func (r *runner) unlimitedStack(ctx context.Context) (*stack, error) {
	if r.unlimited != nil {
		return r.unlimited, nil
	}
	s, err := r.p.newStack(ctx, stackConfig{name: "unlimited", taxflowAnrokRPS: unlimitedRPS, taxflowStripeRPS: unlimitedRPS})
	if err != nil {
		return nil, err
	}
	r.unlimited = s
	return s, nil
}

// releaseUnlimited stops the shared stack once no later scenario needs it, so that it
// takes nothing from the next ones.
func (r *runner) releaseUnlimited(after string) {
	if r.unlimited == nil {
		return
	}
	for _, name := range r.opts.Scenarios {
		if slices.Index(AllScenarios, name) > slices.Index(AllScenarios, after) &&
			(name == ScenarioPlatform || name == ScenarioCost || name == ScenarioLatency) {
			return
		}
	}
	r.p.closeStack(r.unlimited)
	r.unlimited = nil
}

// busyMachine is the share of other processes (in cores) beyond which a run warns that
// its figures were disturbed.
const busyMachine = 0.15

// unlimitedRPS is the requests_per_second taxflow gets when the run measures taxflow
// without rate limits.
const unlimitedRPS = 10000

// submitConcurrency is how many API clients post a burst of invoices at once.
const submitConcurrency = 32
