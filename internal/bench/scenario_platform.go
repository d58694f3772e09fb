package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// PlatformResult is item 1: invoices per second through the whole happy path with no rate
// limit, against a bare workflow of as many no-op activities on the same server.
//
// One burst of each is at the mercy of whatever else the server and the machine do in
// those seconds (single bursts of the same code have differed by a quarter here), so the
// scenario first runs an unmeasured burst of each (a quarter of a round) to warm both
// workers up, then PlatformRounds rounds of a bare burst and a taxflow burst (1,000 each at
// scale 1; the reference first in odd rounds, taxflow first in even ones), and the ratio is
// the median of the rounds' ratios.
type PlatformResult struct {
	// Invoices counts every round's; each round starts as many bare workflows.
	Invoices int `json:"invoices"`
	// Rounds are the pairs of bursts; Ratio is the median of their ratios.
	Rounds []PlatformRound `json:"rounds"`
	// ActivitiesPerInvoice is counted in a finalized invoice's history; the reference
	// workflow runs as many.
	ActivitiesPerInvoice int `json:"activities_per_invoice"`
	// InvoiceSeconds and BareSeconds add up the rounds; the rates are the median round's.
	InvoiceSeconds    float64 `json:"invoice_seconds"`
	InvoicesPerSecond float64 `json:"invoices_per_second"`
	BareSeconds       float64 `json:"bare_seconds"`
	BarePerSecond     float64 `json:"bare_workflows_per_second"`
	Ratio             float64 `json:"ratio"`
	Finalized         int     `json:"finalized"`
	Failed            int     `json:"failed"`
	Unfinished        int     `json:"unfinished"`
	SubmitConcurrency int     `json:"submit_concurrency"`
	// Calls are what the simulators answered during the burst.
	AnrokCalls             CallStats `json:"anrok_calls"`
	StripeCalls            CallStats `json:"stripe_calls"`
	AnrokCallsPerInvoice   float64   `json:"anrok_calls_per_invoice"`
	StripeCallsPerInvoice  float64   `json:"stripe_calls_per_invoice"`
	TaxflowRateLimitsKnown bool      `json:"taxflow_rate_limits_known"`
	// BurstLatency is received → finalized during the burst: mostly time queued behind
	// the other invoices (item 4 measures latency at a steady pace).
	BurstLatency Distribution `json:"burst_latency"`
	BareLatency  Distribution `json:"bare_burst_latency"`
	// Where the time went in taxflow's worker during the burst (its own /metrics): each
	// activity's execution, each provider's HTTP requests, the wait for a rate-limit slot.
	ActivityExecution map[string]MeanMs `json:"activity_execution"`
	ProviderRequests  map[string]MeanMs `json:"provider_requests"`
	RateLimitWait     map[string]MeanMs `json:"rate_limit_wait"`
	// CPU in each phase, by process, over every round.
	BareCPU    CPUUse `json:"bare_cpu"`
	InvoiceCPU CPUUse `json:"invoice_cpu"`
}

// PlatformRound is one bare burst and the taxflow burst after it.
type PlatformRound struct {
	Invoices int `json:"invoices"`
	// BareFirst: the reference's burst ran before taxflow's (odd rounds).
	BareFirst         bool    `json:"bare_first"`
	BareSeconds       float64 `json:"bare_seconds"`
	BarePerSecond     float64 `json:"bare_workflows_per_second"`
	InvoiceSeconds    float64 `json:"invoice_seconds"`
	InvoicesPerSecond float64 `json:"invoices_per_second"`
	Ratio             float64 `json:"ratio"`
}

// PlatformRounds is how many pairs of bursts the platform scenario runs.
const PlatformRounds = 3

// workerTimings are the worker's histograms the platform scenario reads.
var workerTimings = []struct{ metric, label string }{
	{"temporal_activity_execution_latency_seconds", "activity_type"},
	{"taxflow_provider_request_duration_seconds", "provider"},
	{"taxflow_rate_limit_wait_seconds", "provider"},
}

// scrapeWorkerTimings reads workerTimings from a worker's /metrics.
func scrapeWorkerTimings(ctx context.Context, opsURL string) ([]histogramTotals, error) {
	var out []histogramTotals
	for _, m := range workerTimings {
		h, err := scrapeHistogram(ctx, opsURL, m.metric, m.label)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// warmup invoices and reference workflows run before anything is measured: the first
// requests of a fresh process pay for connections, caches and the runtime warming up.
const warmup = 5

func (r *runner) runPlatform(ctx context.Context) error {
	s, err := r.unlimitedStack(ctx)
	if err != nil {
		return err
	}
	defer r.releaseUnlimited(ScenarioPlatform)
	n := scaled(1000, r.opts.Scale, 5)
	res := &PlatformResult{SubmitConcurrency: submitConcurrency, TaxflowRateLimitsKnown: s.rateLimitsAccepted}
	r.res.Platform = res

	k, err := r.activitiesPerInvoice(ctx, s)
	if err != nil {
		return err
	}
	res.ActivitiesPerInvoice = k

	bare, err := r.p.startBare(ctx, "platform")
	if err != nil {
		return err
	}
	defer bare.stop()
	// A burst of each, unmeasured, at the measured concurrency: a fresh worker's first burst
	// also pays for growing its connection pool (each new PostgreSQL connection prepares its
	// statements), its heap and its goroutines, which the bare worker has none of.
	wn := max(warmup, n/4)
	r.p.progress.logf(ScenarioPlatform, "warm-up: %d bare workflows, then %d invoices, at once (not measured)", wn, wn)
	if _, err := r.bareBurst(ctx, bare, "warmup-burst", wn, k); err != nil {
		return err
	}
	if _, err := r.invoiceBurst(ctx, s, "warmup-burst", wn); err != nil {
		return err
	}

	am, sm := s.anrok.mark(), s.stripe.mark()
	timings, err := scrapeWorkerTimings(ctx, s.workerOps)
	if err != nil {
		return err
	}
	var bareLat, invoiceLat []time.Duration
	for round := 1; round <= PlatformRounds; round++ {
		rr := PlatformRound{Invoices: n, BareFirst: round%2 == 1}
		runBare := func() error {
			r.p.progress.logf(ScenarioPlatform, "round %d of %d: %d bare workflows of %d no-op activities, started at once", round, PlatformRounds, n, k)
			cpu := sampleCPU()
			bt, err := r.bareBurst(ctx, bare, fmt.Sprintf("burst-r%d", round), n, k)
			if err != nil {
				return err
			}
			res.BareCPU = res.BareCPU.add(cpu.use(sampleCPU()))
			rr.BareSeconds = bt.seconds
			rr.BarePerSecond = float64(n) / rr.BareSeconds
			bareLat = append(bareLat, bt.latencies...)
			return nil
		}
		runInvoices := func() error {
			r.p.progress.logf(ScenarioPlatform, "round %d of %d: %d taxflow invoices posted at once", round, PlatformRounds, n)
			cpu := sampleCPU()
			it, err := r.invoiceBurst(ctx, s, fmt.Sprintf("platform-r%d", round), n)
			res.Invoices += n
			res.Finalized, res.Failed, res.Unfinished = res.Finalized+it.settled.finalized, res.Failed+it.settled.failed, res.Unfinished+it.settled.other
			if err != nil {
				return fmt.Errorf("round %d: %w", round, err)
			}
			res.InvoiceCPU = res.InvoiceCPU.add(cpu.use(sampleCPU()))
			rr.InvoiceSeconds = it.seconds
			rr.InvoicesPerSecond = float64(n) / rr.InvoiceSeconds
			invoiceLat = append(invoiceLat, it.latencies...)
			return nil
		}
		// Odd rounds run the reference first, even rounds taxflow first, so that whatever
		// changes along the run (the server warming, work left by the previous burst) falls
		// on both alike.
		first, second := runBare, runInvoices
		if !rr.BareFirst {
			first, second = runInvoices, runBare
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		rr.Ratio = rr.InvoicesPerSecond / rr.BarePerSecond
		r.p.progress.logf(ScenarioPlatform, "round %d of %d: %.1f invoices/s against %.1f bare workflows/s: ratio %.2f", round, PlatformRounds, rr.InvoicesPerSecond, rr.BarePerSecond, rr.Ratio)
		res.Rounds = append(res.Rounds, rr)
		res.BareSeconds += rr.BareSeconds
		res.InvoiceSeconds += rr.InvoiceSeconds
	}
	if err := bare.stop(); err != nil {
		return err
	}
	after, err := scrapeWorkerTimings(ctx, s.workerOps)
	if err != nil {
		return err
	}
	res.ActivityExecution, res.ProviderRequests, res.RateLimitWait = after[0].meansSince(timings[0]), after[1].meansSince(timings[1]), after[2].meansSince(timings[2])
	mid := medianRound(res.Rounds)
	res.Ratio, res.InvoicesPerSecond, res.BarePerSecond = mid.Ratio, mid.InvoicesPerSecond, mid.BarePerSecond
	res.BurstLatency, res.BareLatency = distributionOf(invoiceLat), distributionOf(bareLat)
	res.AnrokCalls, res.StripeCalls = s.anrok.callsSince(am), s.stripe.callsSince(sm)
	res.AnrokCallsPerInvoice = float64(res.AnrokCalls.Answered) / float64(res.Invoices)
	res.StripeCallsPerInvoice = float64(res.StripeCalls.Answered) / float64(res.Invoices)

	ratios := make([]string, len(res.Rounds))
	for i, rr := range res.Rounds {
		ratios[i] = fmt.Sprintf("%.2f", rr.Ratio)
	}
	r.res.figure(Figure{
		Item: 1, Key: "platform_ratio", Name: "Platform ratio: taxflow invoices/s ÷ bare workflows/s",
		Value: res.Ratio, Unit: "ratio",
		Reference: &Reference{Name: fmt.Sprintf("bare workflow of %d no-op activities: %.1f workflows/s (taxflow: %.1f invoices/s), the median round", k, res.BarePerSecond, res.InvoicesPerSecond), Value: res.BarePerSecond, Unit: "workflows/s"},
		Target:    "≥ 0.8", Pass: passed(res.Ratio >= 0.8),
		Note: fmt.Sprintf("median of %d rounds (ratios %s), each %d bare workflows and %d invoices started at once (%d clients), in alternating order after an unmeasured warm-up burst of each; per invoice Anrok %.2f calls, Stripe %.2f calls",
			len(res.Rounds), strings.Join(ratios, ", "), n, n, submitConcurrency, res.AnrokCallsPerInvoice, res.StripeCallsPerInvoice),
	})
	return nil
}

// burstResult is a burst of reference workflows or invoices: the seconds from the first
// start to the last close (finalization), each one's latency, and how the invoices settled.
type burstResult struct {
	seconds   float64
	latencies []time.Duration
	settled   settled
}

// bareBurst starts n reference workflows of k activities at once and waits for them all.
func (r *runner) bareBurst(ctx context.Context, bare *bareRun, batch string, n, k int) (burstResult, error) {
	start, err := bare.startAll(ctx, batch, n, k, submitConcurrency)
	if err != nil {
		return burstResult{}, err
	}
	bt, err := bare.waitCompleted(ctx, ScenarioPlatform, batch, n, start, burstTimeout(n))
	if err != nil {
		return burstResult{}, err
	}
	return burstResult{seconds: bt[len(bt)-1].close.Sub(start).Seconds(), latencies: bareLatencies(bt)}, nil
}

// invoiceBurst posts n invoices at once and waits until every one is finalized. How they
// settled is returned with the error when not all were.
func (r *runner) invoiceBurst(ctx context.Context, s *stack, prefix string, n int) (burstResult, error) {
	start, err := s.submitAll(ctx, ScenarioPlatform, invoiceIDs(prefix, n), submitConcurrency)
	if err != nil {
		return burstResult{}, err
	}
	st, err := s.waitSettled(ctx, ScenarioPlatform, prefix+"-", n, start, burstTimeout(n), nil)
	if err != nil {
		return burstResult{}, err
	}
	if st.finalized < n {
		return burstResult{settled: st}, fmt.Errorf("%d of %d invoices finalized (%d failed, %d unfinished): the throughput would mean nothing", st.finalized, n, st.failed, st.other)
	}
	ts, err := s.timings(ctx, prefix+"-")
	if err != nil {
		return burstResult{settled: st}, err
	}
	return burstResult{seconds: ts[len(ts)-1].updated.Sub(start).Seconds(), latencies: latencies(ts), settled: st}, nil
}

// medianRound is the round with the median ratio (the lower middle one of an even count).
func medianRound(rounds []PlatformRound) PlatformRound {
	sorted := append([]PlatformRound(nil), rounds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Ratio < sorted[j].Ratio })
	return sorted[(len(sorted)-1)/2]
}

// activitiesPerInvoice runs the warm-up invoices and counts the activities in the
// history of a finalized one.
func (r *runner) activitiesPerInvoice(ctx context.Context, s *stack) (int, error) {
	ids := invoiceIDs("warmup", warmup)
	start, err := s.submitAll(ctx, ScenarioPlatform, ids, warmup)
	if err != nil {
		return 0, err
	}
	st, err := s.waitSettled(ctx, ScenarioPlatform, "warmup-", warmup, start, time.Minute, nil)
	if err != nil {
		return 0, err
	}
	if st.finalized < warmup {
		return 0, fmt.Errorf("warm-up: %d of %d invoices finalized (%d failed): see the worker's log in %s", st.finalized, warmup, st.failed, r.p.logDir)
	}
	return r.activitiesOf(ctx, ids[0])
}

// burstTimeout bounds the wait for a burst of n at no rate limit: far more than a slow
// machine needs, so that only a stuck run hits it.
func burstTimeout(n int) time.Duration { return 2*time.Minute + time.Duration(n)*200*time.Millisecond }

func latencies(ts []invoiceTiming) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		if t.status == "finalized" {
			out = append(out, t.latency())
		}
	}
	return out
}

func bareLatencies(bt []bareTiming) []time.Duration {
	out := make([]time.Duration, len(bt))
	for i, t := range bt {
		out[i] = t.close.Sub(t.start)
	}
	return out
}
