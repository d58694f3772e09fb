package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/demo"
)

// reconciliation asks GET /v1/reconciliation for invoices received in [from, to) and
// returns its differences as "kind invoice" lines, sorted.
func (s *stack) reconciliation(from, to time.Time, filters ...string) (map[string]any, []string) {
	s.t.Helper()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	for i := 0; i+1 < len(filters); i += 2 {
		q.Set(filters[i], filters[i+1])
	}
	code, body := s.call("GET", "/v1/reconciliation?"+q.Encode(), nil)
	if code != 200 {
		s.t.Fatalf("reconciliation: %d %v", code, body)
	}
	var got []string
	for _, d := range body["differences"].([]any) {
		d := d.(map[string]any)
		if d["message"] == "" {
			s.t.Errorf("a difference without a message: %v", d)
		}
		got = append(got, fmt.Sprintf("%s %s", d["kind"], d["invoice_id"]))
	}
	slices.Sort(got)
	return body, got
}

// stripeInvoiceOf is the one Stripe invoice of a taxflow invoice.
func (s *stack) stripeInvoiceOf(id string) string {
	s.t.Helper()
	si := s.stripeInvoicesOf(id)
	if len(si) != 1 {
		s.t.Fatalf("invoice %s has %d Stripe invoices", id, len(si))
	}
	return si[0].ID
}

// draftNaming creates, as a person in Stripe's dashboard would, a draft invoice whose
// metadata names a taxflow invoice.
func (s *stack) draftNaming(customer, taxflowID string) {
	s.t.Helper()
	params := &stripe.InvoiceCreateParams{Customer: stripe.String(customer), AutoAdvance: stripe.Bool(false)}
	params.AddMetadata("taxflow_invoice_id", taxflowID)
	if _, err := s.stripeClient().V1Invoices.Create(context.Background(), params); err != nil {
		s.t.Fatal(err)
	}
}

// The reconciliation on the real stack: invoices through every life taxflow gives them
// (finalized, paid, voided, voided after filing, credited) reconcile clean; then one
// difference of each kind is planted in the simulators behind taxflow's back, and the
// reconciliation lists exactly those — by kind and invoice — and nothing else.
func TestReconciliationFindsEveryPlantedDifferenceAndNothingElse(t *testing.T) {
	s := newStack(t)
	from := time.Now().UTC().Add(-time.Minute)
	s.settle(s.loadDemo())

	paid := s.denverInvoice("paid", 15000)
	if _, err := s.stripe.PayInvoice(s.stripeInvoiceOf(paid)); err != nil {
		t.Fatal(err)
	}
	s.waitFor(paid, status("paid"))
	voided := s.denverInvoice("voided", 15000)
	if code, body := s.call("POST", "/v1/invoices/"+voided+"/void", nil); code != 202 {
		t.Fatalf("void: %d %v", code, body)
	}
	s.waitFor(voided, func(st demo.InvoiceState) bool { return st.TaxStatus == "voided" })
	negated := s.denverInvoice("negated", 15000)
	if err := s.anrok.Freeze("taxflow-demo:" + negated); err != nil {
		t.Fatal(err)
	}
	if code, body := s.call("POST", "/v1/invoices/"+negated+"/void", nil); code != 202 {
		t.Fatalf("void: %d %v", code, body)
	}
	s.waitFor(negated, func(st demo.InvoiceState) bool { return st.TaxStatus == "negated" })
	credited := s.denverInvoice("credited", 15000)
	if code, body := s.call("POST", "/v1/invoices/"+credited+"/credit-notes", map[string]any{
		"id": "cn-1", "lines": []map[string]any{{"line_id": "l1", "amount": 5000}}}); code != 202 {
		t.Fatalf("credit note: %d %v", code, body)
	}
	s.waitCreditNote(credited, "cn-1")

	body, got := s.reconciliation(from, time.Now().UTC().Add(time.Minute))
	checked := body["checked"].(map[string]any)
	if len(got) != 0 || checked["invoices"] != float64(8) || body["in_flight"] != float64(0) || len(body["notes"].([]any)) != 0 {
		t.Fatalf("a clean stack reports %v: %v", got, body)
	}
	if checked["stripe_invoices"] != float64(8) || checked["anrok_transactions"] != float64(10) {
		t.Fatalf("checked %v", checked)
	}

	// One difference of each kind, behind taxflow's back.
	missingStripe := s.denverInvoice("missing-stripe", 15000)
	if err := s.stripe.ForgetInvoice(s.stripeInvoiceOf(missingStripe)); err != nil { // test data deleted
		t.Fatal(err)
	}
	missingAnrok := s.denverInvoice("missing-anrok", 15000)
	if err := s.anrok.DeleteTransaction("taxflow-demo:" + missingAnrok); err != nil {
		t.Fatal(err)
	}
	ghostStripe, ghostAnrok := "ghost-stripe-"+s.opts.RunID, "ghost-anrok-"+s.opts.RunID
	customer := s.stripeInvoicesOf(paid)[0].Customer
	s.draftNaming(customer, ghostStripe) // made by hand in Stripe's dashboard
	if err := s.anrok.CopyTransaction("taxflow-demo:"+paid, "taxflow-demo:"+ghostAnrok); err != nil {
		t.Fatal(err)
	}
	duplicateStripe := s.denverInvoice("duplicate-stripe", 15000)
	s.draftNaming(customer, duplicateStripe)
	// The same Anrok account under a second connection, which committed the invoice again.
	if code, body := s.call("PUT", "/v1/anrok-connections/anrok-second", map[string]any{"name": "Same sandbox, second prefix",
		"api_key": s.opts.AnrokKey, "base_url": s.anrokURL, "environment": "sandbox", "transaction_prefix": "tf2:"}); code != 201 {
		t.Fatalf("second connection: %d %v", code, body)
	}
	duplicateAnrok := s.denverInvoice("duplicate-anrok", 15000)
	if err := s.anrok.CopyTransaction("taxflow-demo:"+duplicateAnrok, "tf2:"+duplicateAnrok); err != nil {
		t.Fatal(err)
	}
	amount := s.denverInvoice("amount", 15000)
	if err := s.stripe.SetLineAmount(s.stripeInvoiceOf(amount), 0, 20000); err != nil {
		t.Fatal(err)
	}
	taxed := s.denverInvoice("tax", 15000)
	if err := s.anrok.SetTransactionTax("taxflow-demo:"+taxed, 999); err != nil {
		t.Fatal(err)
	}
	voidedInStripe := s.denverInvoice("voided-in-stripe", 15000)
	if err := s.stripe.SetInvoiceStatusQuietly(s.stripeInvoiceOf(voidedInStripe), "void"); err != nil { // the webhook lost
		t.Fatal(err)
	}
	if err := s.anrok.SetTransactionStatus("taxflow-demo:"+voided, anroksim.StatusCommitted); err != nil {
		t.Fatal(err)
	}

	to := time.Now().UTC().Add(time.Minute)
	want := []string{
		"amount_mismatch " + amount,
		"duplicate_in_anrok " + duplicateAnrok,
		"duplicate_in_stripe " + duplicateStripe,
		"missing_in_anrok " + missingAnrok,
		"missing_in_stripe " + missingStripe,
		"status_mismatch " + voided,
		"status_mismatch " + voidedInStripe,
		"tax_mismatch " + taxed,
		"unknown_in_anrok " + ghostAnrok,
		"unknown_in_stripe " + ghostStripe,
	}
	slices.Sort(want)
	body, got = s.reconciliation(from, to)
	if !slices.Equal(got, want) {
		t.Fatalf("differences\n got %v\nwant %v\n%v", got, want, body["differences"])
	}
	// Each names both sides' values.
	for _, d := range body["differences"].([]any) {
		d := d.(map[string]any)
		if d["kind"] == "tax_mismatch" {
			if d["taxflow"].(map[string]any)["tax"] != float64(1444) || d["anrok"].(map[string]any)["tax"] != float64(999) ||
				d["stripe"].(map[string]any)["tax"] != float64(1444) {
				t.Fatalf("tax_mismatch %v", d)
			}
		}
	}

	// Filtered by account, the other side's unknown objects cannot be attributed.
	_, got = s.reconciliation(from, to, "stripe_account_id", demo.StripeAccountID)
	if want := slices.DeleteFunc(slices.Clone(want), func(d string) bool { return d == "unknown_in_anrok "+ghostAnrok }); !slices.Equal(got, want) {
		t.Fatalf("Stripe account filter: %v", got)
	}
	_, got = s.reconciliation(from, to, "anrok_connection_id", demo.AnrokConnectionID)
	if want := slices.DeleteFunc(slices.Clone(want), func(d string) bool { return d == "unknown_in_stripe "+ghostStripe }); !slices.Equal(got, want) {
		t.Fatalf("Anrok connection filter: %v", got)
	}
	// Another period holds none of them.
	if _, got := s.reconciliation(from.Add(-48*time.Hour), from.Add(-24*time.Hour)); len(got) != 0 {
		t.Fatalf("yesterday: %v", got)
	}
}
