package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// APIResult is item 6: POST /v1/invoices — validation, the Postgres transaction and the
// workflow's start — with concurrent clients on distinct invoices, beside GET /healthz on
// the same server with the same clients. No worker runs on the stack: the workflows are
// started but nothing executes them, so the API is measured alone.
type APIResult struct {
	Requests     int          `json:"requests"`
	Concurrency  int          `json:"concurrency"`
	PostPerSec   float64      `json:"post_per_second"`
	Post         Distribution `json:"post_latency"`
	HealthPerSec float64      `json:"healthz_per_second"`
	Health       Distribution `json:"healthz_latency"`
	Stored       int          `json:"stored"`
}

// apiConcurrency is how many clients call the API at once.
const apiConcurrency = 16

func (r *runner) runAPI(ctx context.Context) error {
	n := scaled(2000, r.opts.Scale, 20)
	s, err := r.p.newStack(ctx, stackConfig{name: "api", noWorker: true, taxflowAnrokRPS: unlimitedRPS, taxflowStripeRPS: unlimitedRPS})
	if err != nil {
		return err
	}
	defer r.p.closeStack(s)
	res := &APIResult{Requests: n, Concurrency: apiConcurrency}
	r.res.API = res

	post := func(ids []string) func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			_, err := s.postInvoice(ctx, ids[i], i)
			return err
		}
	}
	health := func(ctx context.Context, _ int) error {
		_, err := s.api.do(ctx, http.MethodGet, "/healthz", nil, nil)
		return err
	}
	warm := invoiceIDs("apiwarm", 20)
	if _, _, err := r.hammer(ctx, "warm-up", len(warm), post(warm)); err != nil {
		return err
	}
	ids := invoiceIDs("api", n)
	lat, wall, err := r.hammer(ctx, "POST /v1/invoices", n, post(ids))
	if err != nil {
		return err
	}
	res.PostPerSec, res.Post = float64(n)/wall.Seconds(), distributionOf(lat)
	lat, wall, err = r.hammer(ctx, "GET /healthz", n, health)
	if err != nil {
		return err
	}
	res.HealthPerSec, res.Health = float64(n)/wall.Seconds(), distributionOf(lat)
	counts, err := s.statusCounts(ctx, "api-")
	if err != nil {
		return err
	}
	for _, c := range counts {
		res.Stored += c
	}
	if res.Stored != n {
		return fmt.Errorf("%d invoices posted, %d stored", n, res.Stored)
	}

	note := fmt.Sprintf("%d requests, %d clients, distinct 1-line invoices; no worker running (workflows started, not executed)", n, apiConcurrency)
	r.res.figure(Figure{Item: 6, Key: "api_post_rps", Name: "POST /v1/invoices throughput", Value: res.PostPerSec, Unit: "requests/s",
		Reference: &Reference{Name: "GET /healthz, same server and clients", Value: res.HealthPerSec, Unit: "requests/s"}, Note: note})
	r.res.figure(Figure{Item: 6, Key: "api_post_p99", Name: "POST /v1/invoices latency p99", Value: res.Post.P99Ms, Unit: "ms",
		Reference: &Reference{Name: "GET /healthz p99", Value: res.Health.P99Ms, Unit: "ms"}, Note: fmt.Sprintf("p50 %.1f ms (healthz %.2f ms)", res.Post.P50Ms, res.Health.P50Ms)})
	return nil
}

// hammer runs call n times through apiConcurrency clients and returns each call's latency
// and the wall time.
func (r *runner) hammer(ctx context.Context, what string, n int, call func(context.Context, int) error) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < apiConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := call(ctx, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return nil, 0, fmt.Errorf("%s: %w", what, firstErr)
	}
	r.p.progress.logf(ScenarioAPI, "%s: %d requests in %s (%.0f/s)", what, n, wall.Round(time.Millisecond), float64(n)/wall.Seconds())
	return lat, wall, nil
}
