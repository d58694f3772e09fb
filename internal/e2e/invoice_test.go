package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/demo"
)

// The skeleton's promise: the Denver invoice (Anrok's documented example) goes from the API
// through the workflow to a finalized Stripe invoice carrying Anrok's tax and a committed
// Anrok transaction — exactly one of each, with the same tax.
func TestDemoInvoicesAreFinalizedWithAnroksTaxInBothSystems(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range res.Invoices {
		st := s.waitFor(inv.ID, func(st demo.InvoiceState) bool { return st.Status == "finalized" || st.Status == "failed" })
		if st.Status != "finalized" || st.TaxStatus != "committed" {
			t.Fatalf("%s: %s/%s, errors %+v", inv.ID, st.Status, st.TaxStatus, st.Errors)
		}
		stripeInvoices := s.stripeInvoicesOf(inv.ID)
		if len(stripeInvoices) != 1 {
			t.Fatalf("%s: %d Stripe invoices, want exactly 1", inv.ID, len(stripeInvoices))
		}
		si := stripeInvoices[0]
		tx, ok := s.anrokTransaction(inv.ID)
		if !ok {
			t.Fatalf("%s: no Anrok transaction", inv.ID)
		}
		if si.Status != "open" || tx.Status != anroksim.StatusCommitted || tx.Version != 1 {
			t.Fatalf("%s: Stripe %s, Anrok %s v%d", inv.ID, si.Status, tx.Status, tx.Version)
		}
		// The invariant: Stripe's finalized tax equals Anrok's committed tax, to the cent.
		if si.TotalTax != tx.TaxAmountToCollect || st.Tax != tx.TaxAmountToCollect || si.Total != st.Total {
			t.Fatalf("%s: Stripe tax %d total %d, Anrok tax %d, taxflow tax %d total %d", inv.ID, si.TotalTax, si.Total, tx.TaxAmountToCollect, st.Tax, st.Total)
		}
		if st.ExternalInvoice == nil || st.ExternalInvoice.InvoiceID != si.ID || st.AnrokTransaction == nil || st.AnrokTransaction.ID != tx.ID {
			t.Fatalf("%s: external references %+v %+v", inv.ID, st.ExternalInvoice, st.AnrokTransaction)
		}
		switch {
		case strings.HasSuffix(inv.ID, "-denver"):
			if st.Subtotal != 15000 || st.Tax != 722 || st.Total != 15722 {
				t.Fatalf("Denver: subtotal %d tax %d total %d, want 15000 722 15722", st.Subtotal, st.Tax, st.Total)
			}
		case strings.HasSuffix(inv.ID, "-berlin"):
			if st.Tax != 0 {
				t.Fatalf("Berlin with a VAT number is reverse charged: tax %d", st.Tax)
			}
		case strings.HasSuffix(inv.ID, "-london"):
			if st.Tax != 6000 {
				t.Fatalf("London: 20%% VAT on 30000 (support is not taxable): tax %d", st.Tax)
			}
		}
	}
	// The call floor of an invoice taxed and finalized on the first try: Stripe 3 (create the
	// draft, add the lines with their tax, finalize), Anrok 2 (createEphemeral, createOrUpdate).
	n := len(res.Invoices)
	stripeCalls := s.stripe.CountRequests("", "/v1/invoices") + s.stripe.CountRequests("", "/v1/invoices/*") + s.stripe.CountRequests("", "/v1/invoices/*/*")
	if stripeCalls != 3*n {
		t.Errorf("%d Stripe invoice calls for %d invoices, want %d", stripeCalls, n, 3*n)
	}
	if got := s.anrok.Stats().Requests; got != int64(2*n) {
		t.Errorf("%d Anrok calls for %d invoices, want %d", got, n, 2*n)
	}
}

func TestDenverBreakdownIsStoredVerbatimAndShown(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Invoices[0].ID
	s.waitFor(id, status("finalized"))
	code, body := s.call("GET", "/v1/invoices/"+id, nil)
	if code != 200 {
		t.Fatalf("GET %d", code)
	}
	lines := body["lines"].([]any)
	bd := lines[0].(map[string]any)["tax_breakdown"].([]any)
	if len(bd) != 2 {
		t.Fatalf("breakdown %v", bd)
	}
	co, den := bd[0].(map[string]any), bd[1].(map[string]any)
	if co["jurisdiction"] != "Colorado" || co["not_taxed_reason"] != "productNotTaxed" || co["level"] != "state" {
		t.Fatalf("Colorado entry %v", co)
	}
	if den["jurisdiction"] != "Denver (local)" || den["rate"] != "0.0481" || den["tax_amount"] != "721.5" || den["billed_amount"].(float64) != 722 || den["level"] != "city" {
		t.Fatalf("Denver entry %v", den)
	}
	// Stripe's line carries the jurisdiction, level and tax type.
	si := s.stripeInvoicesOf(id)[0]
	var found bool
	for _, tx := range si.Lines[0].Taxes {
		if tx.Amount == 722 {
			found = tx.TaxRate.Jurisdiction == "Denver (local)" && tx.TaxRate.JurisdictionLevel == "city" && tx.TaxRate.TaxType == "sales_tax" && tx.TaxRate.Percentage.String() == "4.81"
		}
	}
	if !found {
		t.Fatalf("Stripe line taxes %+v", si.Lines[0].Taxes)
	}
	// The product is mapped to a Stripe product: the line is a price of it, at the exact amount.
	if l := si.Lines[0]; l.Product != demo.PlatformFeeStripeProduct || l.Quantity != 1 || l.UnitAmountDecimal.String() != "15000" || l.Amount != 15000 || l.Metadata["taxflow_line_id"] != "l1" {
		t.Fatalf("Stripe line %+v", l)
	}
}

func TestVoidReachesStripeAndAnrok(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Invoices[0].ID
	s.waitFor(id, status("finalized"))
	if code, body := s.call("POST", "/v1/invoices/"+id+"/void", map[string]string{"reason": "billed twice"}); code != 202 {
		t.Fatalf("void: %d %v", code, body)
	}
	st := s.waitFor(id, func(st demo.InvoiceState) bool { return st.Status == "void" && st.TaxStatus == "voided" })
	if st.Tax != 722 {
		t.Fatalf("state %+v", st)
	}
	if si := s.stripeInvoicesOf(id); len(si) != 1 || si[0].Status != "void" {
		t.Fatalf("Stripe invoices %+v", si)
	}
	if tx, _ := s.anrokTransaction(id); tx.Status != anroksim.StatusVoided {
		t.Fatalf("Anrok transaction %s", tx.Status)
	}
}

// A missing address is a failure that needs a person: the invoice fails before any provider
// call, says what to fix, and a retry after the fix finalizes it.
func TestFailedInvoiceIsRetriedAfterTheFix(t *testing.T) {
	s := newStack(t)
	if _, err := demo.Load(context.Background(), s.opts); err != nil {
		t.Fatal(err)
	}
	code, cust := s.call("GET", "/v1/customers/cust-denver", nil)
	if code != 200 {
		t.Fatal(code)
	}
	bc := cust["billing_configurations"]
	if code, body := s.call("PUT", "/v1/customers/cust-nowhere", map[string]any{"name": "No Address Inc", "billing_configurations": bc}); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	inv := map[string]any{
		"id": "inv-no-address-" + s.opts.RunID, "customer_id": "cust-nowhere", "currency": "usd", "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]string{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          []map[string]any{{"id": "l1", "product_id": "platform-fee", "amount": 15000}},
	}
	if code, body := s.call("POST", "/v1/invoices", inv); code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	id := inv["id"].(string)
	st := s.waitFor(id, status("failed"))
	if len(st.Errors) != 1 || st.Errors[0].Code != "customer_address_missing" || !strings.Contains(st.Errors[0].Message, "PUT /v1/customers/cust-nowhere") {
		t.Fatalf("errors %+v", st.Errors)
	}
	if len(s.stripeInvoicesOf(id)) != 0 {
		t.Fatal("a Stripe invoice was created for an invoice that failed its check")
	}
	if code, body := s.call("PUT", "/v1/customers/cust-nowhere", map[string]any{
		"name": "No Address Inc", "billing_configurations": bc,
		"shipping_address": map[string]string{"line1": "1450 Cherokee St", "city": "Denver", "region": "CO", "postal_code": "80204", "country": "US"},
	}); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/retry", map[string]string{"reason": "address added"}); code != 202 {
		t.Fatalf("retry: %d %v", code, body)
	}
	st = s.waitFor(id, status("finalized"))
	if st.Tax != 722 || len(s.stripeInvoicesOf(id)) != 1 {
		t.Fatalf("after retry: %+v", st)
	}
}

// An Anrok 409 (product unknown to Anrok) leaves the invoice failed with Anrok's code and a
// message naming the product; mapping a known product and retrying finalizes it, without a
// second Stripe draft.
func TestAnrokConflictFailsWithItsCodeAndRetryReusesTheDraft(t *testing.T) {
	s := newStack(t)
	if _, err := demo.Load(context.Background(), s.opts); err != nil {
		t.Fatal(err)
	}
	if code, body := s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "not-in-anrok"}); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	id := "inv-unmapped-" + s.opts.RunID
	inv := map[string]any{
		"id": id, "customer_id": "cust-denver", "currency": "usd", "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]string{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          []map[string]any{{"id": "l1", "product_id": "mystery", "amount": 15000}},
	}
	if code, body := s.call("POST", "/v1/invoices", inv); code != 202 {
		t.Fatalf("%d %v", code, body)
	}
	st := s.waitFor(id, status("failed"))
	if len(st.Errors) != 1 || st.Errors[0].Code != "productExternalIdUnknown" || !strings.Contains(st.Errors[0].Message, "not-in-anrok") {
		t.Fatalf("errors %+v", st.Errors)
	}
	if code, _ := s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "saas-product-1"}); code != 200 {
		t.Fatal(code)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/retry", nil); code != 202 {
		t.Fatalf("retry: %d %v", code, body)
	}
	st = s.waitFor(id, status("finalized"))
	if st.Tax != 722 {
		t.Fatalf("tax %d", st.Tax)
	}
	if n := len(s.stripeInvoicesOf(id)); n != 1 {
		t.Fatalf("%d Stripe invoices after the retry, want 1", n)
	}
}

func TestRepeatedPostOnTheRealStackMakesOneInvoiceEverywhere(t *testing.T) {
	s := newStack(t)
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Invoices[0].ID
	// The demo posted it once; post the identical body again.
	code, body := s.call("GET", "/v1/invoices/"+id, nil)
	if code != 200 {
		t.Fatal(code)
	}
	repeat := map[string]any{
		"id": id, "customer_id": body["customer_id"], "currency": body["currency"], "issued_at": body["issued_at"],
		"service_period": body["service_period"], "metadata": body["metadata"],
		"lines": []map[string]any{{"id": "l1", "product_id": "platform-fee", "description": "Platform fee, November", "amount": 15000}},
	}
	if code, out := s.call("POST", "/v1/invoices", repeat); code != 200 {
		t.Fatalf("identical repeat: %d %v", code, out)
	}
	s.waitFor(id, status("finalized"))
	if n := len(s.stripeInvoicesOf(id)); n != 1 {
		t.Fatalf("%d Stripe invoices", n)
	}
	if tx, _ := s.anrokTransaction(id); tx.Version != 1 {
		t.Fatalf("Anrok transaction version %d, want 1", tx.Version)
	}
}

// Anrok refuses to void a transaction frozen for filing: the void becomes a negation (the
// exact inverse, under a derived id), and the Stripe invoice is voided all the same.
func TestVoidOfAFrozenTransactionIsANegation(t *testing.T) {
	s := newStack(t)
	res := s.loadDemo()
	id := res.Invoices[0].ID
	s.waitFor(id, status("finalized"))
	if err := s.anrok.Freeze("taxflow-demo:" + id); err != nil {
		t.Fatal(err)
	}
	if code, body := s.call("POST", "/v1/invoices/"+id+"/void", nil); code != 202 {
		t.Fatalf("void: %d %v", code, body)
	}
	st := s.waitFor(id, func(st demo.InvoiceState) bool { return st.TaxStatus == "negated" })
	if st.Status != "void" || s.stripeInvoicesOf(id)[0].Status != "void" {
		t.Fatalf("state %+v", st)
	}
	neg, ok := s.anrok.Transaction("taxflow-demo:" + id + ":void")
	if !ok || neg.NegationOf != "taxflow-demo:"+id || neg.TaxAmountToCollect != -722 {
		t.Fatalf("negation %+v %v", neg, ok)
	}
	if orig, _ := s.anrokTransaction(id); orig.Status != anroksim.StatusCommitted {
		t.Fatalf("the frozen original is %s", orig.Status)
	}
}
