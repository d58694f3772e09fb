package bench

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/workflows"
)

// CostResult is item 2: what one invoice costs the Temporal server, for an invoice of one
// line and one of 2,000 — the bodies stay in Postgres, so the history must not grow with
// the lines — beside a bare workflow of as many no-op activities.
type CostResult struct {
	// Small is the median over SmallSample invoices of one line; SmallMax their largest.
	Small       HistoryCost `json:"small"`
	SmallMax    HistoryCost `json:"small_max"`
	SmallSample int         `json:"small_sample"`
	Lines       int         `json:"large_lines"`
	Large       HistoryCost `json:"large"`
	Bare        HistoryCost `json:"bare"`
	// LargeStripeCalls and LargeAnrokCalls are the calls the large invoice took.
	LargeStripeCalls CallStats `json:"large_stripe_calls"`
	LargeAnrokCalls  CallStats `json:"large_anrok_calls"`
	BytesRatio       float64   `json:"bytes_ratio_large_to_small"`
}

// largeLines is the large invoice.
const largeLines = 2000

func (r *runner) runCost(ctx context.Context) error {
	s, err := r.unlimitedStack(ctx)
	if err != nil {
		return err
	}
	defer r.releaseUnlimited(ScenarioCost)
	res := &CostResult{Lines: largeLines}
	r.res.Cost = res

	// Small invoices: those the platform scenario finalized, else a few of its own.
	ids, err := s.finalizedIDs(ctx, "platform-", 10)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		ids = invoiceIDs("cost-small", 5)
		start, err := s.submitAll(ctx, ScenarioCost, ids, len(ids))
		if err != nil {
			return err
		}
		if st, err := s.waitSettled(ctx, ScenarioCost, "cost-small-", len(ids), start, time.Minute, nil); err != nil {
			return err
		} else if st.finalized < len(ids) {
			return fmt.Errorf("%d of %d small invoices finalized", st.finalized, len(ids))
		}
	}
	var small []HistoryCost
	for _, id := range ids {
		c, err := r.p.historyCost(ctx, workflows.InvoiceWorkflowID(id))
		if err != nil {
			return err
		}
		small = append(small, c)
	}
	res.SmallSample = len(small)
	res.Small, res.SmallMax = medianCost(small), maxCost(small)

	// One invoice of 2,000 lines.
	id := "cost-large-" + testenv.RandomHex(3)
	am, sm := s.anrok.mark(), s.stripe.mark()
	start := time.Now()
	if _, err := s.api.do(ctx, http.MethodPost, "/v1/invoices", invoiceBody(id, s.customers[0], largeLines), nil); err != nil {
		return fmt.Errorf("post the %d-line invoice: %w", largeLines, err)
	}
	st, err := s.waitSettled(ctx, ScenarioCost, id, 1, start, 2*time.Minute, nil)
	if err != nil {
		return err
	}
	if st.finalized != 1 {
		return fmt.Errorf("the %d-line invoice did not finalize (failed: %d)", largeLines, st.failed)
	}
	res.LargeAnrokCalls, res.LargeStripeCalls = s.anrok.callsSince(am), s.stripe.callsSince(sm)
	if res.Large, err = r.p.historyCost(ctx, workflows.InvoiceWorkflowID(id)); err != nil {
		return err
	}

	// The reference: one bare workflow of as many activities as the small invoice ran.
	bare, err := r.p.startBare(ctx, "cost")
	if err != nil {
		return err
	}
	defer bare.stop()
	bstart, err := bare.startAll(ctx, "cost", 1, res.Small.Activities, 1)
	if err != nil {
		return err
	}
	bt, err := bare.waitCompleted(ctx, ScenarioCost, "cost", 1, bstart, time.Minute)
	if err != nil {
		return err
	}
	if res.Bare, err = r.p.historyCost(ctx, bt[0].id); err != nil {
		return err
	}

	res.BytesRatio = float64(res.Large.Bytes) / float64(res.Small.Bytes)
	bareRef := fmt.Sprintf("bare workflow of %d no-op activities", res.Bare.Activities)
	r.res.figure(Figure{
		Item: 2, Key: "history_events_per_invoice", Name: "History events per invoice (happy path, 1 line)",
		Value: float64(res.Small.Events), Unit: "events",
		Reference: &Reference{Name: bareRef, Value: float64(res.Bare.Events), Unit: "events"},
		Note:      fmt.Sprintf("median of %d finalized invoices, history as it stands while watching (max %d)", res.SmallSample, res.SmallMax.Events),
	})
	r.res.figure(Figure{
		Item: 2, Key: "history_bytes_per_invoice", Name: "History bytes per invoice (happy path, 1 line)",
		Value: float64(res.Small.Bytes), Unit: "bytes",
		Reference: &Reference{Name: bareRef, Value: float64(res.Bare.Bytes), Unit: "bytes"},
		Note:      fmt.Sprintf("protobuf size of the history, payloads encrypted by the codec (max %d)", res.SmallMax.Bytes),
	})
	r.res.figure(Figure{
		Item: 2, Key: "history_events_2000_lines", Name: fmt.Sprintf("History events, %d-line invoice", largeLines),
		Value: float64(res.Large.Events), Unit: "events",
		Reference: &Reference{Name: "1-line invoice (median)", Value: float64(res.Small.Events), Unit: "events"},
		Target:    "no more than the 1-line invoice", Pass: passed(res.Large.Events <= res.SmallMax.Events),
	})
	r.res.figure(Figure{
		Item: 2, Key: "history_bytes_2000_lines", Name: fmt.Sprintf("History bytes, %d-line invoice", largeLines),
		Value: float64(res.Large.Bytes), Unit: "bytes",
		Reference: &Reference{Name: "1-line invoice (median)", Value: float64(res.Small.Bytes), Unit: "bytes"},
		Target:    "≤ 1.10 × the 1-line invoice (no growth with lines)", Pass: passed(res.BytesRatio <= 1.10),
		Note: fmt.Sprintf("ratio %.3f; Stripe calls %d, Anrok calls %d for this invoice", res.BytesRatio, res.LargeStripeCalls.Answered, res.LargeAnrokCalls.Answered),
	})
	return nil
}

// finalizedIDs returns up to n finalized invoices of a scenario.
func (s *stack) finalizedIDs(ctx context.Context, prefix string, n int) ([]string, error) {
	rows, err := s.db.Query(ctx, "SELECT id FROM invoices WHERE id LIKE $1 AND status = 'finalized' ORDER BY id LIMIT $2", likePrefix(prefix), n)
	if err != nil {
		return nil, fmt.Errorf("finalized invoices: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("finalized invoices: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func medianCost(cs []HistoryCost) HistoryCost {
	events := make([]int, len(cs))
	bytes := make([]int, len(cs))
	for i, c := range cs {
		events[i], bytes[i] = c.Events, c.Bytes
	}
	sort.Ints(events)
	sort.Ints(bytes)
	return HistoryCost{Events: events[len(events)/2], Bytes: bytes[len(bytes)/2], Activities: cs[0].Activities, ByType: cs[0].ByType}
}

func maxCost(cs []HistoryCost) HistoryCost {
	var m HistoryCost
	for _, c := range cs {
		m.Events, m.Bytes, m.Activities = max(m.Events, c.Events), max(m.Bytes, c.Bytes), max(m.Activities, c.Activities)
	}
	return m
}
