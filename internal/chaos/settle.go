package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// isFinal reports whether an invoice has reached a state the run may stop at: finalized,
// or failed (its code is checked afterwards).
func isFinal(inv invoiceSummary) bool {
	return inv.Status == "finalized" || inv.Status == "failed"
}

// settle waits until every invoice in ids is final in taxflow, or within passes, and
// returns the last list read. It reports progress every 15 seconds, with what the
// workflows of the last few pending invoices wait for.
func settle(ctx context.Context, api *apiClient, wf *workflowInspector, ids []string, within time.Duration, say func(string, ...any)) (map[string]invoiceSummary, error) {
	deadline := time.Now().Add(within)
	lastReport := time.Now()
	var last map[string]invoiceSummary
	var lastErr error
	for {
		got, err := api.listInvoices(ctx)
		if err == nil {
			last, lastErr = got, nil
			pending := pendingOf(got, ids)
			if len(pending) == 0 {
				return got, nil
			}
			if time.Since(lastReport) >= 15*time.Second {
				say("waiting for %d of %d invoices: %s", len(pending), len(ids), describePending(got, pending))
				if len(pending) <= 3 {
					for _, id := range pending {
						say("  %s: %s", id, wf.explain(ctx, id))
					}
				}
				lastReport = time.Now()
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if last == nil {
				return nil, fmt.Errorf("the API never answered the list of invoices: %w", lastErr)
			}
			return last, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// pendingOf lists the ids not final in got.
func pendingOf(got map[string]invoiceSummary, ids []string) []string {
	var out []string
	for _, id := range ids {
		if inv, ok := got[id]; !ok || !isFinal(inv) {
			out = append(out, id)
		}
	}
	return out
}

// describePending counts the pending invoices by status and step.
func describePending(got map[string]invoiceSummary, pending []string) string {
	counts := map[string]int{}
	for _, id := range pending {
		inv, ok := got[id]
		key := "unknown to taxflow"
		if ok {
			key = inv.Status + "/" + inv.Step
		}
		counts[key]++
	}
	var parts []string
	for k, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
