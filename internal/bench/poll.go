package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// invoiceTiming is an invoice's life as Postgres recorded it: created_at is when the API
// stored it (received); for a finalized invoice updated_at is the finalization's
// transaction (recordFinalized is the last write of the happy path), at microsecond
// precision — Stripe's finalized_at has only seconds.
type invoiceTiming struct {
	id       string
	status   string
	received time.Time
	updated  time.Time
}

// latency is received → finalized.
func (t invoiceTiming) latency() time.Duration { return t.updated.Sub(t.received) }

// statusCounts counts the scenario's invoices (ids starting with prefix) by status.
func (s *stack) statusCounts(ctx context.Context, prefix string) (map[string]int, error) {
	rows, err := s.db.Query(ctx, "SELECT status, count(*) FROM invoices WHERE id LIKE $1 GROUP BY status", likePrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("count invoices: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count invoices: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}

// timings reads every invoice of the scenario, oldest finalization first.
func (s *stack) timings(ctx context.Context, prefix string) ([]invoiceTiming, error) {
	rows, err := s.db.Query(ctx, "SELECT id, status, created_at, updated_at FROM invoices WHERE id LIKE $1", likePrefix(prefix))
	if err != nil {
		return nil, fmt.Errorf("read invoices: %w", err)
	}
	defer rows.Close()
	var out []invoiceTiming
	for rows.Next() {
		var t invoiceTiming
		if err := rows.Scan(&t.id, &t.status, &t.received, &t.updated); err != nil {
			return nil, fmt.Errorf("read invoices: %w", err)
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].updated.Before(out[j].updated) })
	return out, rows.Err()
}

func likePrefix(prefix string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
}

// settled is how a wait for the scenario's invoices ended.
type settled struct {
	finalized, failed, other int
	timedOut                 bool
}

// waitSettled waits until all n invoices of the scenario are finalized or failed (a failed
// invoice waits for a person: it will not finish on its own), printing progress, or until
// timeout. extra adds to each progress line.
func (s *stack) waitSettled(ctx context.Context, scenario, prefix string, n int, since time.Time, timeout time.Duration, extra func() string) (settled, error) {
	deadline := time.Now().Add(timeout)
	lastPrint := time.Time{}
	for {
		counts, err := s.statusCounts(ctx, prefix)
		if err != nil {
			return settled{}, err
		}
		st := settled{finalized: counts["finalized"], failed: counts["failed"]}
		for k, v := range counts {
			if k != "finalized" && k != "failed" {
				st.other += v
			}
		}
		// Invoices not yet stored (still being submitted) count as other.
		st.other += n - st.finalized - st.failed - st.other
		done := st.finalized+st.failed >= n
		if done || time.Since(lastPrint) >= 2*time.Second {
			e := fmt.Sprintf("failed %d", st.failed)
			if extra != nil {
				e += ", " + extra()
			}
			s.p.progress.count(scenario, "finalized", st.finalized, n, since, e)
			lastPrint = time.Now()
		}
		if done {
			return st, nil
		}
		if time.Now().After(deadline) {
			st.timedOut = true
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
