package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// chaosInvoice is one invoice the run posts, and its lines' ids.
type chaosInvoice struct {
	ID      string
	Body    map[string]any
	LineIDs []string
}

// makeInvoices builds n invoices of the demo's customers that owe tax: Denver (4.81% local
// tax), New York (state and city, one line with a decimal quantity) and London (20% VAT,
// beside a line of a product Anrok does not tax). The Berlin customer, reverse-charged, is
// left out: every invoice must carry tax for "Stripe's tax equals Anrok's" to mean much.
// Amounts come from rng: a rerun with the same seed posts the same invoices.
func makeInvoices(rng *rand.Rand, runID string, n int) []chaosInvoice {
	now := time.Now().UTC().Truncate(time.Second)
	period := map[string]string{"start": now.AddDate(0, -1, 0).Format(time.RFC3339), "end": now.Format(time.RFC3339)}
	out := make([]chaosInvoice, 0, n)
	for i := range n {
		fee := map[string]any{"id": "l1", "product_id": "platform-fee", "description": "Platform fee", "amount": 5000 + rng.IntN(495001)}
		var customer, currency string
		lines := []map[string]any{fee}
		switch i % 3 {
		case 0:
			customer, currency = "cust-denver", "usd"
		case 1:
			customer, currency = "cust-nyc", "usd"
			q := 1000 + rng.IntN(49000)
			// q.5 calls at 0.02 each: 2q+1 cents.
			lines = append(lines, map[string]any{"id": "l2", "product_id": "api-calls", "description": "API calls",
				"quantity": fmt.Sprintf("%d.5", q), "unit_price": "0.02", "amount": 2*q + 1})
		default:
			customer, currency = "cust-london", "gbp"
			lines = append(lines, map[string]any{"id": "l2", "product_id": "support", "description": "Premium support", "amount": 1000 + rng.IntN(20000)})
		}
		id := fmt.Sprintf("chaos-%s-%04d", runID, i+1)
		inv := chaosInvoice{ID: id, Body: map[string]any{
			"id": id, "customer_id": customer, "currency": currency,
			"issued_at": now.Format(time.RFC3339), "service_period": period, "lines": lines,
			"metadata": map[string]string{"source": "taxflow chaos"},
		}}
		for _, l := range lines {
			inv.LineIDs = append(inv.LineIDs, l["id"].(string))
		}
		out = append(out, inv)
	}
	return out
}

// submission is the outcome of posting the invoices.
type submission struct {
	mu sync.Mutex
	// accepted are the invoices the API acknowledged (202, or 200 for a repeat).
	accepted map[string]bool
	// refused are invoices the API refused for good (a 4xx), with the answer.
	refused map[string]string
	// attempts counts POSTs, retries included.
	attempts int
}

// submit posts the invoices evenly over d, each until the API acknowledges it: a network
// error or a 5xx (the starter killed, PostgreSQL restarting) is retried with the identical
// body, which the API answers 200 without a second invoice. It returns when every invoice
// is acknowledged or refused, or ctx ends.
func submit(ctx context.Context, api *apiClient, invoices []chaosInvoice, d time.Duration) *submission {
	res := &submission{accepted: map[string]bool{}, refused: map[string]string{}}
	start := time.Now()
	var wg sync.WaitGroup
	for i, inv := range invoices {
		at := start.Add(time.Duration(int64(d) * int64(i) / int64(len(invoices))))
		select {
		case <-ctx.Done():
			wg.Wait()
			return res
		case <-time.After(time.Until(at)):
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.post(ctx, api, inv)
		}()
	}
	wg.Wait()
	return res
}

func (res *submission) post(ctx context.Context, api *apiClient, inv chaosInvoice) {
	for {
		res.mu.Lock()
		res.attempts++
		res.mu.Unlock()
		_, err := api.do(ctx, http.MethodPost, "/v1/invoices", inv.Body, nil)
		var ae *apiError
		switch {
		case err == nil:
			res.mu.Lock()
			res.accepted[inv.ID] = true
			res.mu.Unlock()
			return
		case errors.As(err, &ae) && ae.Status < 500:
			res.mu.Lock()
			res.refused[inv.ID] = ae.Error()
			res.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
