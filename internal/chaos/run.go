package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/taxflow/taxflow/internal/demo"
)

// Run runs one chaos test and returns its summary. An error means the run could not be
// carried out (the stack did not start, the demo could not be loaded); what the run found
// wrong with taxflow is in Summary.Violations. On an error or a violation the processes'
// log tails are written to cfg.Log and the work directory is kept.
func Run(ctx context.Context, cfg Config) (sum *Summary, err error) {
	cfg = cfg.withLog()
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	began := time.Now()
	say := (&runLog{w: cfg.Log, start: began}).say
	sum = &Summary{Seed: cfg.Seed, Invoices: cfg.Invoices, Restarts: map[string]int{}, Violations: []string{}}
	say("seed %d (run again with -seed %d)", cfg.Seed, cfg.Seed)
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))

	st, err := startStack(ctx, cfg, say)
	if err != nil {
		return nil, fmt.Errorf("chaos: start the stack: %w", err)
	}
	defer func() {
		if err != nil || !sum.OK() {
			st.removeDir = false
			say("the processes' logs are kept in %s\n%s", st.logs, st.logTails(4000))
		}
		st.stop()
	}()
	api := newAPIClient(st.apiURL, st.token)
	runID := fmt.Sprintf("%08x", uint32(cfg.Seed))

	// The demo's configuration (a Stripe account, an Anrok connection, products, four
	// customers) and its four invoices, before any fault.
	demoRes, err := demo.Load(ctx, demo.Options{APIURL: st.apiURL, Token: st.token,
		StripeBaseURL: st.sims.stripeURL, StripeKey: "sk_test_chaos_" + runID, StripeWebhookSecret: st.webhookSecret,
		AnrokBaseURL: st.sims.anrokURL, AnrokKey: "schaos/sachaos/secret." + runID, RunID: runID})
	if err != nil {
		return nil, fmt.Errorf("chaos: load the demo: %w", err)
	}
	var want []expectation
	for _, inv := range demoRes.Invoices {
		want = append(want, expectation{ID: inv.ID})
	}
	sum.DemoInvoices = len(want)
	say("demo loaded: %d customers' invoices posted", len(want))
	invoices := makeInvoices(rng, runID, cfg.Invoices)
	for _, inv := range invoices {
		want = append(want, expectation{ID: inv.ID, LineIDs: inv.LineIDs, Taxable: true})
	}

	if err := runChaos(ctx, st, cfg, api, invoices, plan(rng, cfg), sum, say); err != nil {
		return nil, err
	}

	// Settling, then the verdict from the simulators' state.
	settleStart := time.Now()
	ids := make([]string, 0, len(want))
	for _, w := range want {
		ids = append(ids, w.ID)
	}
	wf, err := newWorkflowInspector(ctx, st.temporal.Address(), st.codecKey)
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	defer wf.close()
	final, err := settle(ctx, api, wf, ids, cfg.SettleWithin, say)
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	sum.SettleSeconds = time.Since(settleStart).Seconds()
	// Requests still held by a timeout fault end when taxflow gives up on them: give them
	// the time to land before reading the simulators.
	time.Sleep(2 * time.Second)
	sum.Faults = st.sims.injected()
	a, s := st.sims.overLimit()
	sum.OverLimit429 = map[string]int64{"anrok": a, "stripe": s}
	verify(ctx, api, st.sims, wf, want, final, sum)
	sum.WallSeconds = time.Since(began).Seconds()
	say("verified in the simulators: %d Stripe invoices, %d Anrok transactions, %d violations", sum.StripeInvoices, sum.AnrokTransactions, len(sum.Violations))
	return sum, nil
}

// runChaos turns the faults on, posts the invoices and carries out the disruptions at their
// moments; when the window is over it turns the faults off. It records what happened in sum.
func runChaos(ctx context.Context, st *stack, cfg Config, api *apiClient, invoices []chaosInvoice, events []plannedEvent, sum *Summary, say func(string, ...any)) error {
	if err := st.sims.faultsOn(cfg, true); err != nil {
		return fmt.Errorf("chaos: %w", err)
	}
	say("faults on: %.0f%% 5xx, %.0f%% timeouts (held up to %s), a burst of %d 429s every %s; %d invoices over %s; %d disruptions over %s",
		100*cfg.ServerErrorRate, 100*cfg.TimeoutRate, cfg.TimeoutHold, cfg.Burst429, cfg.Burst429Every, cfg.Invoices, cfg.SubmitFor, len(events), cfg.ChaosFor)
	chaosStart := time.Now()
	chaosCtx, endChaos := context.WithTimeout(ctx, cfg.ChaosFor)
	defer endChaos()
	burstsDone := make(chan map[string]int, 1)
	go func() { burstsDone <- bursts(chaosCtx, st.sims, cfg, say) }()
	submitted := make(chan *submission, 1)
	go func() { submitted <- submit(ctx, api, invoices, cfg.SubmitFor) }()
	for _, e := range events {
		select {
		case <-chaosCtx.Done():
		case <-time.After(time.Until(chaosStart.Add(e.At))):
		}
		if ctx.Err() != nil {
			break
		}
		ev := disrupt(ctx, st, e)
		ev.At = e.At
		sum.Events = append(sum.Events, ev)
		sum.Restarts[e.Kind]++
		say("%s: %s; back in %s", ev.Kind, ev.Detail, ev.Recovery.Round(10*time.Millisecond))
		if ev.Error != "" {
			sum.Violations = append(sum.Violations, fmt.Sprintf("disruption %q at +%.1fs: %s", ev.Kind, ev.At.Seconds(), ev.Error))
		} else if ev.Restart > MaxSupervisorRestart {
			sum.Violations = append(sum.Violations, fmt.Sprintf("supervision: after %s, the supervisor started the process again %s after its end, not within %s", e.Kind, ev.Restart, MaxSupervisorRestart))
		}
	}
	<-chaosCtx.Done()
	sum.Bursts429 = <-burstsDone
	sub := <-submitted
	st.sims.faultsOff()
	sum.ChaosSeconds = time.Since(chaosStart).Seconds()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	sum.Accepted, sum.PostAttempts = len(sub.accepted), sub.attempts
	for id, answer := range sub.refused {
		sum.Violations = append(sum.Violations, fmt.Sprintf("refused: POST of %s answered %s", id, answer))
	}
	say("chaos over: faults off; %d of %d invoices acknowledged (%d POSTs); waiting for every invoice to settle (at most %s)",
		sum.Accepted, cfg.Invoices, sum.PostAttempts, cfg.SettleWithin)
	return nil
}
