package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/taxflow/taxflow/workflows"
)

// listInvoices runs a Temporal UI query and returns the invoice workflows it finds.
func (s *stack) listInvoices(query string) []string {
	s.t.Helper()
	resp, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	if err != nil {
		s.t.Fatalf("query %q: %v", query, err)
	}
	var ids []string
	for _, e := range resp.Executions {
		ids = append(ids, e.Execution.WorkflowId)
	}
	sort.Strings(ids)
	return ids
}

// The operator's console: one Temporal UI query lists "all invoices failed on
// product_not_mapped", and the other search attributes follow the invoice.
func TestSearchAttributesFindInvoicesByStatusAndErrorCode(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	s.call("PUT", "/v1/products/orphan", map[string]any{"name": "Orphan"})
	var failed []string
	for i := 0; i < 2; i++ {
		id := fmt.Sprintf("inv-sa-%d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "orphan", 100))
		s.waitFor(id, status("failed"))
		failed = append(failed, workflows.InvoiceWorkflowID(id))
	}
	ok := s.denverInvoice("sa-ok", 15000)
	query := `InvoiceStatus = "failed" AND ErrorCode = "product_not_mapped"`
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := s.listInvoices(query)
		if fmt.Sprint(got) == fmt.Sprint(failed) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s found %v, want %v", query, got, failed)
		}
		time.Sleep(250 * time.Millisecond)
	}
	want := workflows.InvoiceWorkflowID(ok)
	q := fmt.Sprintf(`InvoiceId = %q AND CustomerId = "cust-denver" AND StripeAccount = "stripe-demo" AND InvoiceStatus = "finalized" AND TaxStatus = "committed"`, ok)
	for {
		if got := s.listInvoices(q); len(got) == 1 && got[0] == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s found nothing", q)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The workflow's own view of the invoice, from its query.
func TestQueryReturnsTheWorkflowsView(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	id := s.denverInvoice("query", 15000)
	v, err := s.temporal.QueryWorkflow(context.Background(), workflows.InvoiceWorkflowID(id), "", workflows.QueryState)
	if err != nil {
		t.Fatal(err)
	}
	var st workflows.State
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.InvoiceID != id || st.Status != "finalized" || st.Step != "watch" || st.Tax != 722*2 {
		t.Fatalf("state %+v", st)
	}
}
