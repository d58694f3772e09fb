package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/taxflow/taxflow/workflows"
)

// LatencyResult is item 4: received → finalized with no rate limit, for invoices arriving
// at a steady pace below what the machine can take (at full burst the latency is the time
// queued behind the others: the platform scenario reports that as burst_latency), beside
// the start → close latency of bare workflows arriving at the same pace.
type LatencyResult struct {
	Invoices  int          `json:"invoices"`
	Rate      float64      `json:"rate_per_second"`
	RateBasis string       `json:"rate_basis"`
	Latency   Distribution `json:"latency"`
	Bare      Distribution `json:"bare_latency"`
	Failed    int          `json:"failed"`
	// Light is the same at lightRate: what the path takes when nothing queues.
	LightInvoices int          `json:"light_invoices"`
	LightRate     float64      `json:"light_rate_per_second"`
	Light         Distribution `json:"light_latency"`
	LightBare     Distribution `json:"light_bare_latency"`
	// Histogram buckets of both, for the chart.
	Histogram LatencyHistogram `json:"histogram"`
}

// lightRate is the pace of the light-load measurement.
const lightRate = 2.0

// defaultLatencyRate is the pace when the platform scenario did not run to measure what
// the machine takes.
const defaultLatencyRate = 10.0

func (r *runner) runLatency(ctx context.Context) error {
	s, err := r.unlimitedStack(ctx)
	if err != nil {
		return err
	}
	defer r.releaseUnlimited(ScenarioLatency)
	n := scaled(300, r.opts.Scale, 5)
	res := &LatencyResult{Invoices: n, Rate: defaultLatencyRate, RateBasis: "default (the platform scenario did not run)"}
	if pr := r.res.Platform; pr != nil && pr.InvoicesPerSecond > 0 {
		res.Rate = pr.InvoicesPerSecond / 2
		res.RateBasis = fmt.Sprintf("half the throughput the platform scenario measured (%.1f invoices/s)", pr.InvoicesPerSecond)
	}
	r.res.Latency = res

	bare, err := r.p.startBare(ctx, "latency")
	if err != nil {
		return err
	}
	defer bare.stop()
	lat, bl, k, err := r.pacedLatencies(ctx, s, bare, "latency", n, res.Rate)
	if err != nil {
		return err
	}
	res.Latency, res.Bare, res.Histogram = distributionOf(lat), distributionOf(bl), histogramOf(lat, bl)
	res.LightInvoices, res.LightRate = scaled(20, r.opts.Scale, 3), lightRate
	lat, bl, _, err = r.pacedLatencies(ctx, s, bare, "latlight", res.LightInvoices, lightRate)
	if err != nil {
		return err
	}
	res.Light, res.LightBare = distributionOf(lat), distributionOf(bl)

	ref := func(v float64) *Reference {
		return &Reference{Name: fmt.Sprintf("bare workflow of %d no-op activities, start → close, same pace", k), Value: v, Unit: "ms"}
	}
	note := fmt.Sprintf("%d invoices at %.1f/s, %s; at full burst (platform scenario) the p50 is the queue. "+
		"Both taxflow and the reference wait up to ~50 ms per step for the dev server's single history shard (see Temporal above)", n, res.Rate, res.RateBasis)
	r.res.figure(Figure{Item: 4, Key: "latency_p50", Name: "Latency received → finalized, p50", Value: res.Latency.P50Ms, Unit: "ms", Reference: ref(res.Bare.P50Ms), Note: note})
	r.res.figure(Figure{Item: 4, Key: "latency_p99", Name: "Latency received → finalized, p99", Value: res.Latency.P99Ms, Unit: "ms", Reference: ref(res.Bare.P99Ms)})
	r.res.figure(Figure{Item: 4, Key: "latency_p50_light", Name: fmt.Sprintf("Latency received → finalized, p50 at %.0f invoices/s", lightRate), Value: res.Light.P50Ms, Unit: "ms",
		Reference: ref(res.LightBare.P50Ms), Note: fmt.Sprintf("%d invoices at %.0f/s: the path itself, nothing queued; p99 %.0f ms (reference %.0f ms)", res.LightInvoices, lightRate, res.Light.P99Ms, res.LightBare.P99Ms)})
	return nil
}

// pacedLatencies posts n invoices at rate per second and waits for them, then runs as many
// reference workflows at the same pace; it returns both latencies and the activities per
// invoice the reference ran.
func (r *runner) pacedLatencies(ctx context.Context, s *stack, bare *bareRun, batch string, n int, rate float64) (inv, ref []time.Duration, activities int, err error) {
	r.p.progress.logf(ScenarioLatency, "taxflow: %d invoices at %.1f/s", n, rate)
	ids := invoiceIDs(batch, n)
	start, err := s.submitPaced(ctx, ids, rate)
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := s.waitSettled(ctx, ScenarioLatency, batch+"-", n, start, burstTimeout(n), nil)
	if err != nil {
		return nil, nil, 0, err
	}
	if st.finalized < n {
		return nil, nil, 0, fmt.Errorf("%d of %d invoices finalized (%d failed)", st.finalized, n, st.failed)
	}
	ts, err := s.timings(ctx, batch+"-")
	if err != nil {
		return nil, nil, 0, err
	}
	if activities, err = r.activitiesOf(ctx, ids[0]); err != nil {
		return nil, nil, 0, err
	}
	r.p.progress.logf(ScenarioLatency, "reference: %d bare workflows of %d no-op activities at %.1f/s", n, activities, rate)
	bstart, err := bare.startPaced(ctx, batch, n, activities, rate)
	if err != nil {
		return nil, nil, 0, err
	}
	bt, err := bare.waitCompleted(ctx, ScenarioLatency, batch, n, bstart, burstTimeout(n))
	if err != nil {
		return nil, nil, 0, err
	}
	return latencies(ts), bareLatencies(bt), activities, nil
}

// activitiesOf counts the activities in an invoice's history.
func (r *runner) activitiesOf(ctx context.Context, invoiceID string) (int, error) {
	c, err := r.p.historyCost(ctx, workflows.InvoiceWorkflowID(invoiceID))
	if err != nil {
		return 0, err
	}
	return c.Activities, nil
}
