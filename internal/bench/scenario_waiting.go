package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// WaitingResult is item 5: what waiting costs — the worker's memory with N finalized
// invoices watching for events, against the same worker before — and how fast a Stripe
// webhook reaches one of them, against the same with only a few watching.
type WaitingResult struct {
	Invoices int `json:"invoices"`
	// Running is the workflows running on the stack's task queue at the end (watching).
	Running     int64        `json:"running_workflows"`
	Before      WorkerMemory `json:"worker_before"`
	After       WorkerMemory `json:"worker_after"`
	FewWatching int          `json:"few_watching"`
	// Webhook is invoice.paid → paid in the API with Invoices watching; WebhookFew with
	// FewWatching.
	Webhook         Distribution `json:"webhook_latency"`
	WebhookFew      Distribution `json:"webhook_latency_few"`
	LoadSeconds     float64      `json:"load_seconds"`
	LoadPerSecond   float64      `json:"load_invoices_per_second"`
	Failed          int          `json:"failed"`
	Unfinished      int          `json:"unfinished"`
	BytesPerInvoice float64      `json:"rss_bytes_per_invoice"`
}

// WorkerMemory is the worker process's memory: its resident set from /proc and its Go heap
// from its own /metrics.
type WorkerMemory struct {
	RSSBytes       int64   `json:"rss_bytes"`
	HeapInuseBytes float64 `json:"go_heap_inuse_bytes"`
	HeapAllocBytes float64 `json:"go_heap_alloc_bytes"`
	Goroutines     float64 `json:"goroutines"`
}

func (s *stack) workerMemory(ctx context.Context) (WorkerMemory, error) {
	var m WorkerMemory
	var err error
	if m.RSSBytes, err = residentBytes(s.worker.pid()); err != nil {
		return m, err
	}
	if m.HeapInuseBytes, err = scrapeValue(ctx, s.workerOps, "go_memstats_heap_inuse_bytes"); err != nil {
		return m, err
	}
	if m.HeapAllocBytes, err = scrapeValue(ctx, s.workerOps, "go_memstats_heap_alloc_bytes"); err != nil {
		return m, err
	}
	m.Goroutines, err = scrapeValue(ctx, s.workerOps, "go_goroutines")
	return m, err
}

func (r *runner) runWaiting(ctx context.Context) error {
	n := scaled(10000, r.opts.Scale, 10)
	samples := scaled(10, r.opts.Scale, 3)
	few := max(samples+1, min(20, n/2))
	s, err := r.p.newStack(ctx, stackConfig{name: "waiting", taxflowAnrokRPS: unlimitedRPS, taxflowStripeRPS: unlimitedRPS})
	if err != nil {
		return err
	}
	defer r.p.closeStack(s)
	res := &WaitingResult{Invoices: n, FewWatching: few}
	r.res.Waiting = res

	time.Sleep(2 * time.Second) // the worker settles after its start
	if res.Before, err = s.workerMemory(ctx); err != nil {
		return err
	}

	// A few invoices watching: the webhook's reference.
	fewIDs := invoiceIDs("waiting-few", few)
	start, err := s.submitAll(ctx, ScenarioWaiting, fewIDs, min(few, submitConcurrency))
	if err != nil {
		return err
	}
	if st, err := s.waitSettled(ctx, ScenarioWaiting, "waiting-few-", few, start, burstTimeout(few), nil); err != nil {
		return err
	} else if st.finalized < few {
		return fmt.Errorf("%d of %d invoices finalized", st.finalized, few)
	}
	// The first webhook pays for the starter's and the worker's first use of that path: it
	// warms up, unmeasured.
	if _, err := s.paidWebhookLatency(ctx, fewIDs[0]); err != nil {
		return err
	}
	fewLat, err := r.webhookLatencies(ctx, s, fewIDs[1:1+samples])
	if err != nil {
		return err
	}
	res.WebhookFew = distributionOf(fewLat)

	// The rest, at once.
	rest := n - few
	r.p.progress.logf(ScenarioWaiting, "%d more invoices, to %d watching", rest, n)
	manyIDs := invoiceIDs("waiting-many", rest)
	start, err = s.submitAll(ctx, ScenarioWaiting, manyIDs, submitConcurrency)
	if err != nil {
		return err
	}
	st, err := s.waitSettled(ctx, ScenarioWaiting, "waiting-many-", rest, start, burstTimeout(rest), nil)
	if err != nil {
		return err
	}
	res.Failed, res.Unfinished = st.failed, st.other
	if st.finalized < rest {
		return fmt.Errorf("%d of %d invoices finalized (%d failed)", st.finalized, rest, st.failed)
	}
	res.LoadSeconds = time.Since(start).Seconds()
	res.LoadPerSecond = float64(rest) / res.LoadSeconds
	time.Sleep(3 * time.Second)
	if res.After, err = s.workerMemory(ctx); err != nil {
		return err
	}
	res.BytesPerInvoice = float64(res.After.RSSBytes-res.Before.RSSBytes) / float64(n)
	count, err := r.p.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", s.taskQueue)})
	if err != nil {
		return fmt.Errorf("count watching workflows: %w", err)
	}
	res.Running = count.GetCount()

	manyLat, err := r.webhookLatencies(ctx, s, manyIDs[len(manyIDs)-samples:])
	if err != nil {
		return err
	}
	res.Webhook = distributionOf(manyLat)

	const mib = 1 << 20
	r.res.figure(Figure{Item: 5, Key: "worker_rss_watching", Name: fmt.Sprintf("Worker memory (RSS) with %d invoices watching", n),
		Value: float64(res.After.RSSBytes) / mib, Unit: "MiB",
		Reference: &Reference{Name: "the same worker before any invoice", Value: float64(res.Before.RSSBytes) / mib, Unit: "MiB"},
		Note:      fmt.Sprintf("%.1f KiB per watching invoice; %d workflows running on the task queue", res.BytesPerInvoice/1024, res.Running)})
	r.res.figure(Figure{Item: 5, Key: "worker_heap_watching", Name: fmt.Sprintf("Worker Go heap in use with %d invoices watching", n),
		Value: res.After.HeapInuseBytes / mib, Unit: "MiB",
		Reference: &Reference{Name: "the same worker before any invoice", Value: res.Before.HeapInuseBytes / mib, Unit: "MiB"},
		Note:      fmt.Sprintf("goroutines %.0f (before %.0f)", res.After.Goroutines, res.Before.Goroutines)})
	r.res.figure(Figure{Item: 5, Key: "webhook_signal_p50", Name: fmt.Sprintf("Stripe webhook → invoice paid, p50, with %d watching", n),
		Value: res.Webhook.P50Ms, Unit: "ms",
		Reference: &Reference{Name: fmt.Sprintf("the same with %d watching", few), Value: res.WebhookFew.P50Ms, Unit: "ms"},
		Note:      fmt.Sprintf("signed invoice.paid POSTed to /v1/webhooks/stripe/{account}, until GET /v1/invoices/{id} shows paid; %d samples each, max %.0f ms (few: %.0f ms)", samples, res.Webhook.MaxMs, res.WebhookFew.MaxMs)})
	return nil
}

// webhookLatencies measures the paid webhook of each invoice, one after the other.
func (r *runner) webhookLatencies(ctx context.Context, s *stack, ids []string) ([]time.Duration, error) {
	var out []time.Duration
	for _, id := range ids {
		d, err := s.paidWebhookLatency(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	r.p.progress.logf(ScenarioWaiting, "webhook → paid: p50 %.1f ms over %d invoices", millis(percentile(out, 0.5)), len(out))
	return out, nil
}
