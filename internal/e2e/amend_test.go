package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/workflows"
)

func (s *stack) denverInvoice(suffix string, amount int64) string {
	s.t.Helper()
	id := "inv-" + suffix + "-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", amount), line("l2", "api-calls", amount))
	s.waitFor(id, status("finalized"))
	return id
}

func (s *stack) creditNotes(id string) []map[string]any {
	s.t.Helper()
	_, body := s.call("GET", "/v1/invoices/"+id, nil)
	var out []map[string]any
	for _, cn := range body["credit_notes"].([]any) {
		out = append(out, cn.(map[string]any))
	}
	return out
}

func (s *stack) waitCreditNote(invoiceID, cnID string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, cn := range s.creditNotes(invoiceID) {
			if cn["id"] == cnID && cn["status"] != "pending" {
				return cn
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("credit note %s of %s never left pending: %v", cnID, invoiceID, s.creditNotes(invoiceID))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Credit notes: partial, several per invoice, never beyond the invoice; each is a Stripe
// credit note and a negative Anrok transaction of its own, agreeing on the tax.
func TestCreditNotesArePartialSeveralAndAgreeInBothSystems(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	id := s.denverInvoice("cn", 15000) // two lines of 150.00, 722 tax each
	for i, cn := range []map[string]any{
		{"id": "cn-1", "reason": "order_change", "lines": []map[string]any{{"line_id": "l1", "amount": 5000}}},
		{"id": "cn-2", "lines": []map[string]any{{"line_id": "l1", "amount": 2000}, {"line_id": "l2", "amount": 15000}}},
	} {
		if code, body := s.call("POST", "/v1/invoices/"+id+"/credit-notes", cn); code != 202 {
			t.Fatalf("credit note %d: %d %v", i, code, body)
		}
	}
	tx, _ := s.anrokTransaction(id)
	for _, c := range []struct {
		id     string
		amount int64
	}{{"cn-1", 5000}, {"cn-2", 17000}} {
		cn := s.waitCreditNote(id, c.id)
		if cn["status"] != "issued" || int64(cn["amount"].(float64)) != c.amount {
			t.Fatalf("%s: %v", c.id, cn)
		}
		anrokCN, ok := s.anrok.Transaction(tx.ID + ":cn-" + c.id)
		if !ok || anrokCN.TaxAmountToCollect >= 0 {
			t.Fatalf("%s: Anrok transaction %+v %v", c.id, anrokCN, ok)
		}
		if tax := int64(cn["tax"].(float64)); tax != -anrokCN.TaxAmountToCollect || tax == 0 {
			t.Fatalf("%s: taxflow credits tax %d, Anrok %d", c.id, tax, anrokCN.TaxAmountToCollect)
		}
		if cn["stripe_credit_note_id"] == nil || cn["anrok_transaction_id"] != anrokCN.ID {
			t.Fatalf("%s: references %v", c.id, cn)
		}
	}
	// 5000 × 4.81% = 240.5 → 241; the second: 2000 × 4.81% = 96.2 → 96 and 722.
	if cn := s.waitCreditNote(id, "cn-1"); cn["tax"].(float64) != 241 {
		t.Fatalf("cn-1 tax %v", cn["tax"])
	}
	// Stripe's own view: every credit note's tax is Anrok's.
	si := s.stripeInvoicesOf(id)[0]
	if si.PrePaymentCreditNotesAmount != 5000+241+17000+96+722 {
		t.Fatalf("Stripe credited %d", si.PrePaymentCreditNotesAmount)
	}
	// More than what is left of a line: 422, naming the line.
	code, body := s.call("POST", "/v1/invoices/"+id+"/credit-notes", map[string]any{"id": "cn-3", "lines": []map[string]any{{"line_id": "l1", "amount": 8001}}})
	if code != 422 || body["error"].(map[string]any)["field"] != "lines[0].amount" {
		t.Fatalf("over-credit: %d %v", code, body)
	}
	// The same credit note again is harmless; another body under its id is a conflict.
	if code, _ := s.call("POST", "/v1/invoices/"+id+"/credit-notes", map[string]any{"id": "cn-1", "reason": "order_change", "lines": []map[string]any{{"line_id": "l1", "amount": 5000}}}); code != 200 {
		t.Fatalf("repeat: %d", code)
	}
	if code, _ := s.call("POST", "/v1/invoices/"+id+"/credit-notes", map[string]any{"id": "cn-1", "lines": []map[string]any{{"line_id": "l1", "amount": 4000}}}); code != 409 {
		t.Fatalf("conflict: %d", code)
	}
}

// Disputes: opened and won change nothing in Anrok; lost negates the transaction. Through
// the API, and through Stripe's charge.dispute.* webhooks (dispute → payment intent →
// invoice payments → invoice).
func TestDisputesOnlyALostOneReachesAnrok(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	byAPI := s.denverInvoice("dispute-api", 15000)
	for _, st := range []string{"opened", "won"} {
		if code, body := s.call("POST", "/v1/invoices/"+byAPI+"/disputes", map[string]string{"status": st}); code != 202 {
			t.Fatalf("%s: %d %v", st, code, body)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if tx, _ := s.anrokTransaction(byAPI); tx.Status != anroksim.StatusCommitted || len(tx.NegatedBy) != 0 {
		t.Fatalf("opened/won changed Anrok: %+v", tx)
	}
	if code, body := s.call("POST", "/v1/invoices/"+byAPI+"/disputes", map[string]string{"status": "lost"}); code != 202 {
		t.Fatalf("lost: %d %v", code, body)
	}
	s.waitFor(byAPI, func(st demo.InvoiceState) bool { return st.TaxStatus == "negated" })
	tx, _ := s.anrokTransaction(byAPI)
	if neg, ok := s.anrok.Transaction(tx.ID + ":dispute"); !ok || neg.NegationOf != tx.ID {
		t.Fatalf("no negation for the lost dispute: %+v", neg)
	}

	byStripe := s.denverInvoice("dispute-stripe", 15000)
	stripeID := s.stripeInvoicesOf(byStripe)[0].ID
	if _, err := s.stripe.PayInvoice(stripeID); err != nil {
		t.Fatal(err)
	}
	s.waitFor(byStripe, status("paid"))
	// A paid invoice cannot be voided: the alternative is named.
	if code, body := s.call("POST", "/v1/invoices/"+byStripe+"/void", nil); code != 422 || body["error"].(map[string]any)["code"] != "invoice_paid" {
		t.Fatalf("void of a paid invoice: %d %v", code, body)
	}
	d, err := s.stripe.OpenDispute(stripeID, "fraudulent")
	if err != nil {
		t.Fatal(err)
	}
	waitDispute := func(want string) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, body := s.call("GET", "/v1/invoices/"+byStripe, nil)
			if body["dispute_status"] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("dispute status %v, want %s", body["dispute_status"], want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitDispute("opened")
	if _, err := s.stripe.CloseDispute(d.ID, "lost"); err != nil {
		t.Fatal(err)
	}
	waitDispute("lost")
	s.waitFor(byStripe, func(st demo.InvoiceState) bool { return st.TaxStatus == "negated" })
	tx2, _ := s.anrokTransaction(byStripe)
	if _, ok := s.anrok.Transaction(tx2.ID + ":dispute"); !ok {
		t.Fatal("the lost Stripe dispute did not reach Anrok")
	}
}

// A credit note after the workflow continued as new is applied by the new run, which
// loaded its state from Postgres.
func TestCreditNoteAfterContinueAsNew(t *testing.T) {
	s := newStack(t, func(c *stackConfig) { c.continueEvery = 2 })
	s.settle(s.loadDemo())
	id := s.denverInvoice("can", 15000)
	first := s.runID(id)
	// Two events handled: the workflow continues as new.
	for _, st := range []string{"opened", "won"} {
		if code, _ := s.call("POST", "/v1/invoices/"+id+"/disputes", map[string]string{"status": st}); code != 202 {
			t.Fatal(code)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.runID(id) == first {
		if time.Now().After(deadline) {
			t.Fatal("the workflow never continued as new")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/credit-notes", map[string]any{"id": "after", "lines": []map[string]any{{"line_id": "l1", "amount": 1000}}}); code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	if cn := s.waitCreditNote(id, "after"); cn["status"] != "issued" {
		t.Fatalf("%v", cn)
	}
}

func (s *stack) runID(invoiceID string) string {
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.InvoiceWorkflowID(invoiceID), "")
	if err != nil {
		s.t.Fatal(err)
	}
	return d.WorkflowExecutionInfo.Execution.RunId
}

// An event after the watch period still reaches the invoice: the workflow has completed,
// and the void starts it again from Postgres.
func TestVoidAfterTheWatchPeriodStillReachesBothSystems(t *testing.T) {
	s := newStack(t, func(c *stackConfig) { c.watchPeriod = 2 * time.Second })
	s.settle(s.loadDemo())
	id := s.denverInvoice("late", 15000)
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := s.temporal.DescribeWorkflowExecution(context.Background(), workflows.InvoiceWorkflowID(id), "")
		if err != nil {
			t.Fatal(err)
		}
		if d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch never ended")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/void", map[string]string{"reason": "late"}); code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	st := s.waitFor(id, func(st demo.InvoiceState) bool { return st.TaxStatus == "voided" })
	if st.Status != "void" || s.stripeInvoicesOf(id)[0].Status != "void" {
		t.Fatalf("%+v", st)
	}
}

// Drafts: refresh tax rewrites and recommits a draft left for a person; finalize now
// finalizes it from taxflow.
func TestRefreshTaxAndFinalizeNowOnADraft(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	s.setSettings(map[string]any{"leave_as_draft": true})
	id := "inv-refresh-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(id, func(st demo.InvoiceState) bool { return st.Status == "draft" && st.TaxStatus == "committed" })
	if code, body := s.call("POST", "/v1/invoices/"+id+"/refresh-tax", nil); code != 202 {
		t.Fatalf("refresh: %d %v", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if tx, _ := s.anrokTransaction(id); tx.Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refresh did not commit a new version")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/finalize", nil); code != 202 {
		t.Fatalf("finalize: %d %v", code, body)
	}
	st := s.waitFor(id, status("finalized"))
	si := s.stripeInvoicesOf(id)[0]
	if si.Status != "open" || si.TotalTax != 722 || st.Tax != 722 {
		t.Fatalf("finalized: %+v, Stripe %s %d", st, si.Status, si.TotalTax)
	}
	// A finalized invoice has no draft left.
	if code, _ := s.call("POST", "/v1/invoices/"+id+"/refresh-tax", nil); code != 422 {
		t.Fatalf("refresh of a finalized invoice: %d", code)
	}
}

// Bulk retry: every failed invoice is retried, in a workflow of its own that reports how
// many succeeded.
func TestBulkRetryOfEveryFailedInvoice(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "not-in-anrok"})
	var ids []string
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("inv-bulk-%d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "mystery", 15000))
		ids = append(ids, id)
	}
	for _, id := range ids {
		s.waitFor(id, status("failed"))
	}
	s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "saas-product-1"})
	code, body := s.call("POST", "/v1/invoices/retry-failed", nil)
	if code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	bulk := body["id"].(string)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, got := s.call("GET", "/v1/bulk-retries/"+bulk, nil)
		if got["status"] == "completed" {
			res := got["result"].(map[string]any)
			if res["Invoices"].(float64) != 3 || res["Succeeded"].(float64) != 3 || res["StillFailed"].(float64) != 0 {
				t.Fatalf("result %v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bulk retry still %v", got)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, id := range ids {
		s.waitFor(id, status("finalized"))
	}
}

// Tax estimates: Anrok's ephemeral calculation, nothing committed, identical requests
// answered from the 24-hour cache.
func TestTaxEstimateIsEphemeralAndCached(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	req := map[string]any{"customer_id": "cust-denver", "currency": "usd", "lines": []map[string]any{{"id": "usage", "product_id": "platform-fee", "amount": 15000}}}
	before := s.anrok.Stats().Requests
	txBefore := len(s.anrok.Transactions())
	code, body := s.call("POST", "/v1/tax/estimate", req)
	if code != 200 || body["tax"].(float64) != 722 || body["total"].(float64) != 15722 || body["cached"] != false {
		t.Fatalf("%d %v", code, body)
	}
	code, body = s.call("POST", "/v1/tax/estimate", req)
	if code != 200 || body["cached"] != true || body["tax"].(float64) != 722 {
		t.Fatalf("repeat: %d %v", code, body)
	}
	if got := s.anrok.Stats().Requests - before; got != 1 {
		t.Fatalf("%d Anrok calls for two identical estimates, want 1", got)
	}
	if len(s.anrok.Transactions()) != txBefore {
		t.Fatal("an estimate committed a transaction")
	}
	if code, body := s.call("POST", "/v1/tax/estimate", map[string]any{"customer_id": "nobody", "currency": "usd", "lines": req["lines"]}); code != 422 {
		t.Fatalf("unknown customer: %d %v", code, body)
	}
}
