package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
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
	// The README's query, kept to this test's task queue: the dev server is shared by the
	// package's tests, which run in parallel.
	query := `InvoiceStatus = "failed" AND ErrorCode = "product_not_mapped" AND TaskQueue = "` + s.cfg.TaskQueue + `"`
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

// scrape reads the starter's /metrics and returns the value of every sample whose line
// starts with prefix (a metric name with, optionally, the start of its labels).
func (s *stack) scrape(prefix string) (lines []string) {
	s.t.Helper()
	code, body := get(s.t, s.apiURL()+"/metrics")
	if code != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", code, body)
	}
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	return lines
}

// sampleValue is the value of one exposition line.
func sampleValue(t *testing.T, line string) float64 {
	t.Helper()
	f := strings.Fields(line)
	v, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		t.Fatalf("sample %q: %v", line, err)
	}
	return v
}

// Metrics on the real stack: every provider call is timed by provider, operation and
// status, a finalization is observed once per invoice, Stripe's webhooks are counted by
// result, the invoice gauge follows Postgres, and the Temporal SDK's own metrics are there.
func TestMetricsFollowTheInvoicesAndTheProviders(t *testing.T) {
	s := newStack(t)
	res := s.loadDemo()
	s.settle(res)
	stripeID := s.stripeInvoicesOf(res.Invoices[0].ID)[0].ID
	if _, err := s.stripe.PayInvoice(stripeID); err != nil {
		t.Fatal(err)
	}
	s.waitFor(res.Invoices[0].ID, external("PAID"))

	want := map[string]string{
		`taxflow_provider_request_duration_seconds_count{operation="/v1/seller/transactions/createOrUpdate",provider="anrok",status="200"}`: "Anrok's createOrUpdate",
		`taxflow_provider_request_duration_seconds_count{operation="/v1/invoices/{id}/finalize",provider="stripe",status="200"}`:            "Stripe's finalize",
		`taxflow_webhook_events_total{result="accepted",source="stripe",type="invoice.paid"}`:                                               "the invoice.paid webhook",
		`temporal_workflow_task_execution_latency_seconds_count{`:                                                                           "the SDK's workflow task timer",
		`temporal_activity_execution_latency_seconds_count{`:                                                                                "the SDK's activity timer",
		`taxflow_invoices{status="paid",tax_status="committed"}`:                                                                            "the invoice gauge",
	}
	deadline := time.Now().Add(20 * time.Second)
	for prefix, what := range want {
		for {
			lines := s.scrape(prefix)
			if len(lines) > 0 && sampleValue(t, lines[0]) >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no sample %s", what, prefix)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	fin := s.scrape("taxflow_invoice_finalization_seconds_count")
	if len(fin) != 1 || sampleValue(t, fin[0]) != float64(len(res.Invoices)) {
		t.Fatalf("finalizations observed %v, want %d", fin, len(res.Invoices))
	}
}
