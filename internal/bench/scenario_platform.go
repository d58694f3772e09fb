package bench

import (
	"context"
	"fmt"
	"time"
)

// PlatformResult is item 1: invoices per second through the whole happy path with no rate
// limit, against a bare workflow of as many no-op activities on the same server.
type PlatformResult struct {
	Invoices int `json:"invoices"`
	// ActivitiesPerInvoice is counted in a finalized invoice's history; the reference
	// workflow runs as many.
	ActivitiesPerInvoice int     `json:"activities_per_invoice"`
	InvoiceSeconds       float64 `json:"invoice_seconds"`
	InvoicesPerSecond    float64 `json:"invoices_per_second"`
	BareSeconds          float64 `json:"bare_seconds"`
	BarePerSecond        float64 `json:"bare_workflows_per_second"`
	Ratio                float64 `json:"ratio"`
	Finalized            int     `json:"finalized"`
	Failed               int     `json:"failed"`
	Unfinished           int     `json:"unfinished"`
	SubmitConcurrency    int     `json:"submit_concurrency"`
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
	// CPU in each phase, by process.
	BareCPU    CPUUse `json:"bare_cpu"`
	InvoiceCPU CPUUse `json:"invoice_cpu"`
}

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
	res := &PlatformResult{Invoices: n, SubmitConcurrency: submitConcurrency, TaxflowRateLimitsKnown: s.rateLimitsAccepted}
	r.res.Platform = res

	k, err := r.activitiesPerInvoice(ctx, s)
	if err != nil {
		return err
	}
	res.ActivitiesPerInvoice = k

	// The reference first: N bare workflows of k no-op activities, started at once.
	bare, err := r.p.startBare(ctx, "platform")
	if err != nil {
		return err
	}
	defer bare.stop()
	if _, err := bare.startAll(ctx, "warmup", warmup, k, warmup); err != nil {
		return err
	}
	if _, err := bare.waitCompleted(ctx, ScenarioPlatform, "warmup", warmup, time.Now(), time.Minute); err != nil {
		return err
	}
	r.p.progress.logf(ScenarioPlatform, "reference: %d bare workflows of %d no-op activities, started at once", n, k)
	cpu := sampleCPU()
	bstart, err := bare.startAll(ctx, "burst", n, k, submitConcurrency)
	if err != nil {
		return err
	}
	bt, err := bare.waitCompleted(ctx, ScenarioPlatform, "burst", n, bstart, burstTimeout(n))
	if err != nil {
		return err
	}
	res.BareCPU = cpu.use(sampleCPU())
	if err := bare.stop(); err != nil {
		return err
	}
	res.BareSeconds = bt[len(bt)-1].close.Sub(bstart).Seconds()
	res.BarePerSecond = float64(n) / res.BareSeconds
	res.BareLatency = distributionOf(bareLatencies(bt))

	// taxflow: N invoices posted at once through the API.
	r.p.progress.logf(ScenarioPlatform, "taxflow: %d invoices posted at once", n)
	am, sm := s.anrok.mark(), s.stripe.mark()
	timings, err := scrapeWorkerTimings(ctx, s.workerOps)
	if err != nil {
		return err
	}
	cpu = sampleCPU()
	ids := invoiceIDs("platform", n)
	start, err := s.submitAll(ctx, ScenarioPlatform, ids, submitConcurrency)
	if err != nil {
		return err
	}
	st, err := s.waitSettled(ctx, ScenarioPlatform, "platform-", n, start, burstTimeout(n), nil)
	if err != nil {
		return err
	}
	res.InvoiceCPU = cpu.use(sampleCPU())
	after, err := scrapeWorkerTimings(ctx, s.workerOps)
	if err != nil {
		return err
	}
	res.ActivityExecution, res.ProviderRequests, res.RateLimitWait = after[0].meansSince(timings[0]), after[1].meansSince(timings[1]), after[2].meansSince(timings[2])
	res.Finalized, res.Failed, res.Unfinished = st.finalized, st.failed, st.other
	if st.finalized < n {
		return fmt.Errorf("%d of %d invoices finalized (%d failed, %d unfinished): the throughput would mean nothing", st.finalized, n, st.failed, st.other)
	}
	ts, err := s.timings(ctx, "platform-")
	if err != nil {
		return err
	}
	res.InvoiceSeconds = ts[len(ts)-1].updated.Sub(start).Seconds()
	res.InvoicesPerSecond = float64(n) / res.InvoiceSeconds
	res.Ratio = res.InvoicesPerSecond / res.BarePerSecond
	res.BurstLatency = distributionOf(latencies(ts))
	res.AnrokCalls, res.StripeCalls = s.anrok.callsSince(am), s.stripe.callsSince(sm)
	res.AnrokCallsPerInvoice = float64(res.AnrokCalls.Answered) / float64(n)
	res.StripeCallsPerInvoice = float64(res.StripeCalls.Answered) / float64(n)

	r.res.figure(Figure{
		Item: 1, Key: "platform_ratio", Name: "Platform ratio: taxflow invoices/s ÷ bare workflows/s",
		Value: res.Ratio, Unit: "ratio",
		Reference: &Reference{Name: fmt.Sprintf("bare workflow of %d no-op activities: %.1f workflows/s (taxflow: %.1f invoices/s)", k, res.BarePerSecond, res.InvoicesPerSecond), Value: res.BarePerSecond, Unit: "workflows/s"},
		Target:    "≥ 0.8", Pass: passed(res.Ratio >= 0.8),
		Note: fmt.Sprintf("%d invoices and %d workflows started at once (%d clients); per invoice Anrok %.2f calls, Stripe %.2f calls", n, n, submitConcurrency, res.AnrokCallsPerInvoice, res.StripeCallsPerInvoice),
	})
	return nil
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
