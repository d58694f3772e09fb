package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// invoiceBody is a usage invoice of lines lines of the benchmark's product, for one of
// the stack's customers.
func invoiceBody(id, customerID string, lines int) map[string]any {
	now := time.Now().UTC()
	ls := make([]map[string]any, lines)
	for i := range ls {
		ls[i] = map[string]any{"id": fmt.Sprintf("l%04d", i+1), "product_id": productID, "description": "Platform usage", "amount": 15000}
		if lines > 1 {
			ls[i]["amount"] = 100 + i%50
		}
	}
	return map[string]any{
		"id": id, "customer_id": customerID, "currency": "usd",
		"issued_at":      now.Format(time.RFC3339),
		"service_period": map[string]string{"start": now.AddDate(0, -1, 0).Format(time.RFC3339), "end": now.Format(time.RFC3339)},
		"lines":          ls,
	}
}

// invoiceIDs names n invoices of a scenario.
func invoiceIDs(prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%06d", prefix, i+1)
	}
	return ids
}

// postInvoice posts one invoice of one line and returns how long the API took.
func (s *stack) postInvoice(ctx context.Context, id string, i int) (time.Duration, error) {
	body := invoiceBody(id, s.customers[i%len(s.customers)], 1)
	start := time.Now()
	_, err := s.api.do(ctx, http.MethodPost, "/v1/invoices", body, nil)
	return time.Since(start), err
}

// submitAll posts every invoice at once through concurrency clients and returns when the
// first was sent. Every invoice must be accepted.
func (s *stack) submitAll(ctx context.Context, scenario string, ids []string, concurrency int) (time.Time, error) {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || ctx.Err() != nil {
					return
				}
				if _, err := s.postInvoice(ctx, ids[i], i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return start, fmt.Errorf("submit: %w", firstErr)
	}
	s.p.progress.logf(scenario, "submitted %d invoices in %s", len(ids), time.Since(start).Round(time.Millisecond))
	return start, nil
}

// submitPaced posts the invoices at rate per second (open loop: one every 1/rate, however
// long the previous ones take) and returns when the first was sent.
func (s *stack) submitPaced(ctx context.Context, ids []string, rate float64) (time.Time, error) {
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for i, id := range ids {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				return start, ctx.Err()
			case <-time.After(d):
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.postInvoice(ctx, id, i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return start, fmt.Errorf("submit: %w", firstErr)
	}
	return start, nil
}
