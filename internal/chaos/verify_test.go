package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/anrok"
)

// The verdict comes from the simulators' state: the run is only worth its "0 duplicates,
// 0 lost" if it sees a duplicate, a loss, a stuck invoice, a stale record and an orphan
// when there is one. Each is planted here and must be counted.
func TestVerifyFindsDuplicatesLossesStuckInvoicesAndOrphans(t *testing.T) {
	ctx := context.Background()
	sims, err := startSimulators(1, func() string { return "" }, "")
	if err != nil {
		t.Fatal(err)
	}
	defer sims.close()
	sc := stripe.NewClient("sk_test_verify", stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String(sims.stripeURL), LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull}})))
	cus, err := sc.V1Customers.Create(ctx, &stripe.CustomerCreateParams{Name: stripe.String("Verify")})
	if err != nil {
		t.Fatal(err)
	}
	stripeInvoice := func(invoiceID string) *stripe.Invoice {
		p := &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), Currency: stripe.String("usd"), AutoAdvance: stripe.Bool(false),
			Metadata: map[string]string{"taxflow_invoice_id": invoiceID}}
		inv, err := sc.V1Invoices.Create(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if inv, err = sc.V1Invoices.FinalizeInvoice(ctx, inv.ID, nil); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	ac := anrok.New(anrok.Config{BaseURL: sims.anrokURL, APIKey: "verify"})
	commit := func(id string) {
		// Oregon has no sales tax: the transaction's tax is 0, like the Stripe invoices'.
		_, err := ac.CreateOrUpdate(ctx, anrok.TransactionRequest{ID: id, CurrencyCode: "USD",
			CustomerAddress: anrok.Address{Country: "US", Region: "OR", PostalCode: "97201"},
			LineItems:       []anrok.LineItem{{ID: "l1", ProductExternalID: "saas-product-1", Amount: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	good := stripeInvoice("good")
	commit(transactionPrefix + "good")
	stripeInvoice("twice")
	stripeInvoice("twice")
	commit(transactionPrefix + "twice")
	stale := stripeInvoice("stale")
	commit(transactionPrefix + "stale")
	stripeInvoice("no-anrok")
	commit(transactionPrefix + "never-posted")

	one := int64(1)
	two := int64(2)
	details := map[string]invoiceDetail{}
	record := func(id, stripeID, number string, version *int64) {
		details[id] = invoiceDetail{ExternalInvoice: &externalInvoice{InvoiceID: stripeID, Number: &number},
			AnrokTransaction: &anrokRecord{ID: transactionPrefix + id, Version: version}}
	}
	record("good", good.ID, good.Number, &one)
	record("stale", stale.ID, stale.Number, &two)
	details["failed"] = invoiceDetail{Errors: []invoiceError{{Code: "product_not_mapped", Message: "map it"}}}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(details[strings.TrimPrefix(r.URL.Path, "/v1/invoices/")])
	}))
	defer api.Close()

	want := []expectation{{ID: "good"}, {ID: "twice"}, {ID: "stale"}, {ID: "no-anrok"}, {ID: "unknown"}, {ID: "stuck"}, {ID: "failed"}}
	got := map[string]invoiceSummary{
		"good": {ID: "good", Status: "finalized"}, "twice": {ID: "twice", Status: "finalized"},
		"stale": {ID: "stale", Status: "finalized"}, "no-anrok": {ID: "no-anrok", Status: "finalized"},
		"stuck": {ID: "stuck", Status: "draft", Step: "commit"}, "failed": {ID: "failed", Status: "failed"},
	}
	sum := &Summary{}
	verify(ctx, newAPIClient(api.URL, "token"), sims, nil, want, got, sum)

	if sum.Finalized != 4 || sum.FailedByCode["product_not_mapped"] != 1 {
		t.Errorf("finalized %d, failed %v", sum.Finalized, sum.FailedByCode)
	}
	// "twice" has two Stripe invoices; the never-posted transaction is an orphan.
	if sum.Duplicates != 2 {
		t.Errorf("duplicates %d, want 2", sum.Duplicates)
	}
	// "no-anrok" has no transaction; "unknown" is unknown to taxflow.
	if sum.Lost != 2 {
		t.Errorf("lost %d, want 2", sum.Lost)
	}
	if sum.Stuck != 1 {
		t.Errorf("stuck %d, want 1", sum.Stuck)
	}
	// "stale" names version 2 of a transaction at version 1.
	if sum.RecordMismatches != 1 {
		t.Errorf("record mismatches %d, want 1", sum.RecordMismatches)
	}
	if sum.TaxMismatches != 0 {
		t.Errorf("tax mismatches %d, want 0", sum.TaxMismatches)
	}
	if t.Failed() || len(sum.Violations) != 6 {
		t.Errorf("%d violations:\n%s", len(sum.Violations), strings.Join(sum.Violations, "\n"))
	}
}
