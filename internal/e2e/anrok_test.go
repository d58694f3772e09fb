package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/workflows"
)

// postInvoice posts an invoice of the demo's shape for customer with lines.
func (s *stack) postInvoice(id, customer, currency string, lines ...map[string]any) {
	s.t.Helper()
	code, body := s.call("POST", "/v1/invoices", map[string]any{
		"id": id, "customer_id": customer, "currency": currency, "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]string{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          lines,
	})
	if code != 202 {
		s.t.Fatalf("POST invoice %s: %d %v", id, code, body)
	}
}

func (s *stack) loadDemo() demo.Result {
	s.t.Helper()
	res, err := demo.Load(context.Background(), s.opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

// settle waits until the demo's invoices are finalized.
func (s *stack) settle(res demo.Result) {
	s.t.Helper()
	for _, inv := range res.Invoices {
		s.waitFor(inv.ID, status("finalized"))
	}
}

func line(id, product string, amount int64) map[string]any {
	return map[string]any{"id": id, "product_id": product, "amount": amount}
}

// sentLines returns the line items Anrok received in the transaction's last version.
func sentLines(t *testing.T, tx anroksim.Transaction) []map[string]any {
	t.Helper()
	var body struct {
		LineItems []map[string]any `json:"lineItems"`
	}
	if err := json.Unmarshal(tx.Versions[len(tx.Versions)-1].Request, &body); err != nil {
		t.Fatal(err)
	}
	return body.LineItems
}

// A tax-inclusive line: Anrok backs the tax out of the amount (31000 → pre-tax 29577.3304,
// tax 1422.67 → 1423), the Stripe line carries it as inclusive tax, and the invoice total adds
// only the exclusive line's tax — in taxflow and in Stripe alike.
func TestTaxInclusiveLineIsBackedOutOfTheAmountEndToEnd(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	id := "inv-inclusive-" + s.opts.RunID
	inclusive := line("l2", "platform-fee", 31000)
	inclusive["tax_inclusive"] = true
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000), inclusive)
	st := s.waitFor(id, status("finalized"))
	if st.Subtotal != 46000 || st.Tax != 722+1423 || st.Total != 46000+722 {
		t.Fatalf("subtotal %d tax %d total %d; want 46000, 2145, 46722", st.Subtotal, st.Tax, st.Total)
	}
	_, body := s.call("GET", "/v1/invoices/"+id, nil)
	if l2 := body["lines"].([]any)[1].(map[string]any); l2["pre_tax_amount"] != "29577.3304" || l2["tax_inclusive"] != true || l2["tax"].(float64) != 1423 {
		t.Fatalf("line 2 as shown: %v", l2)
	}
	tx, _ := s.anrokTransaction(id)
	lines := sentLines(t, tx)
	if lines[1]["isTaxIncludedInAmount"] != true || lines[0]["isTaxIncludedInAmount"] != nil {
		t.Fatalf("Anrok got %v", lines)
	}
	si := s.stripeInvoicesOf(id)[0]
	if si.TotalTax != 2145 || si.Total != 46722 || si.Subtotal != 46000 {
		t.Fatalf("Stripe subtotal %d tax %d total %d", si.Subtotal, si.TotalTax, si.Total)
	}
	var inclusiveTax int64
	for _, tx := range si.Lines[1].Taxes {
		if !tx.TaxRate.Inclusive {
			t.Fatalf("line 2 tax not inclusive: %+v", tx)
		}
		inclusiveTax += tx.Amount
	}
	if inclusiveTax != 1423 {
		t.Fatalf("inclusive tax on the Stripe line %d, want 1423", inclusiveTax)
	}
}

// Reverse charge: a Berlin customer with an EU VAT number pays no tax; the jurisdiction says
// why (exempt / reverseCharge) in taxflow and on the Stripe line.
func TestReverseChargeForABerlinCustomerWithAVATID(t *testing.T) {
	s := newStack(t)
	res := s.loadDemo()
	var id string
	for _, inv := range res.Invoices {
		if strings.HasSuffix(inv.ID, "-berlin") {
			id = inv.ID
		}
	}
	st := s.waitFor(id, status("finalized"))
	if st.Tax != 0 {
		t.Fatalf("tax %d", st.Tax)
	}
	tx, _ := s.anrokTransaction(id)
	var sent struct {
		CustomerTaxIDs []map[string]string `json:"customerTaxIds"`
		CustomerID     string              `json:"customerId"`
		CustomerName   string              `json:"customerName"`
	}
	_ = json.Unmarshal(tx.Versions[0].Request, &sent)
	if len(sent.CustomerTaxIDs) != 1 || sent.CustomerTaxIDs[0]["type"] != "euVrn" || sent.CustomerID != "taxflow-demo:cust-berlin" || sent.CustomerName == "" {
		t.Fatalf("Anrok got %+v", sent)
	}
	_, body := s.call("GET", "/v1/invoices/"+id, nil)
	bd := body["lines"].([]any)[0].(map[string]any)["tax_breakdown"].([]any)
	entry := bd[0].(map[string]any)
	if entry["not_taxed_reason"] != "exempt" || entry["exempt_reason"] != "reverseCharge" {
		t.Fatalf("breakdown %v", bd)
	}
	si := s.stripeInvoicesOf(id)[0]
	if len(si.Lines[0].Taxes) == 0 || si.Lines[0].Taxes[0].TaxabilityReason != "reverse_charge" || si.Lines[0].Taxes[0].TaxRate.TaxType != "vat" {
		t.Fatalf("Stripe line taxes %+v", si.Lines[0].Taxes)
	}
}

// An unmapped product uses the connection's fallback product.
func TestUnmappedProductUsesTheConnectionsFallbackProduct(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	code, conn := s.call("GET", "/v1/anrok-connections/"+demo.AnrokConnectionID, nil)
	if code != 200 {
		t.Fatal(code)
	}
	conn["fallback_product_id"] = "saas-product-2"
	for _, k := range []string{"id", "api_key_hint", "created_at", "updated_at"} {
		delete(conn, k)
	}
	if code, body := s.call("PUT", "/v1/anrok-connections/"+demo.AnrokConnectionID, conn); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	s.call("PUT", "/v1/products/unmapped", map[string]any{"name": "Not mapped"})
	id := "inv-fallback-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "unmapped", 15000), line("l2", "platform-fee", 1000))
	st := s.waitFor(id, status("finalized"))
	tx, _ := s.anrokTransaction(id)
	lines := sentLines(t, tx)
	if lines[0]["productExternalId"] != "saas-product-2" || lines[1]["productExternalId"] != "saas-product-1" || lines[0]["id"] != "l1" {
		t.Fatalf("Anrok got %v", lines)
	}
	if st.Tax != tx.TaxAmountToCollect {
		t.Fatalf("tax %d vs Anrok %d", st.Tax, tx.TaxAmountToCollect)
	}
	// The operator is told, in a log line that names the invoice and its workflow.
	var logged bool
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, "fallback Anrok product") && strings.Contains(l, "invoice_id="+id) &&
			strings.Contains(l, "workflow_id="+workflows.InvoiceWorkflowID(id)) && strings.Contains(l, "products=[unmapped]") {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("no log line names the invoice and the fallback product:\n%s", s.logs.String())
	}
}

// Neither a mapping nor a fallback: the invoice fails with product_not_mapped naming the
// products, before any Anrok or Stripe call.
func TestUnmappedProductWithoutFallbackFailsBeforeAnyCall(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	before := s.anrok.Stats().Requests
	stripeBefore := len(s.stripe.Invoices())
	s.call("PUT", "/v1/products/orphan-a", map[string]any{"name": "Orphan A"})
	s.call("PUT", "/v1/products/orphan-b", map[string]any{"name": "Orphan B"})
	id := "inv-unmapped-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "orphan-b", 100), line("l2", "orphan-a", 100), line("l3", "platform-fee", 100))
	st := s.waitFor(id, status("failed"))
	if len(st.Errors) != 1 || st.Errors[0].Code != "product_not_mapped" || !strings.Contains(st.Errors[0].Message, "orphan-a, orphan-b") {
		t.Fatalf("errors %+v", st.Errors)
	}
	if s.anrok.Stats().Requests != before || len(s.stripe.Invoices()) != stripeBefore {
		t.Fatal("a provider was called for an invoice that failed its check")
	}
}

// A customer with no usable address fails with customer_address_missing before any call.
func TestMissingAddressFailsBeforeAnyCall(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	_, cust := s.call("GET", "/v1/customers/cust-denver", nil)
	// A US address without region or postal code cannot place the customer.
	if code, body := s.call("PUT", "/v1/customers/cust-vague", map[string]any{
		"name": "Vague Inc", "billing_configurations": cust["billing_configurations"],
		"billing_address": map[string]string{"line1": "1 Main St", "city": "Springfield", "country": "US"},
	}); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	before := s.anrok.Stats().Requests
	id := "inv-vague-" + s.opts.RunID
	s.postInvoice(id, "cust-vague", "usd", line("l1", "platform-fee", 100))
	st := s.waitFor(id, status("failed"))
	if st.Errors[0].Code != "customer_address_missing" || s.anrok.Stats().Requests != before || len(s.stripeInvoicesOf(id)) != 0 {
		t.Fatalf("errors %+v, Anrok calls %d→%d", st.Errors, before, s.anrok.Stats().Requests)
	}
}

// Several connections: a customer naming its connection is taxed there; the others use the
// default one.
func TestCustomerNamingItsConnectionIsTaxedThere(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	other := newAnrokSim(t, anroksim.Options{})
	if code, body := s.call("PUT", "/v1/anrok-connections/anrok-eu", map[string]any{
		"name": "EU entity", "api_key": "seu/saeu/secret.eu", "base_url": other.url, "environment": "production",
		"accounting_time_zone": "Europe/Berlin", "transaction_prefix": "eu:",
	}); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	_, cust := s.call("GET", "/v1/customers/cust-london", nil)
	cust["anrok_connection_id"] = "anrok-eu"
	for _, k := range []string{"id", "created_at", "updated_at"} {
		delete(cust, k)
	}
	if code, body := s.call("PUT", "/v1/customers/cust-london", cust); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	london, denver := "inv-eu-"+s.opts.RunID, "inv-default-"+s.opts.RunID
	s.postInvoice(london, "cust-london", "gbp", line("l1", "platform-fee", 30000))
	s.postInvoice(denver, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(london, status("finalized"))
	s.waitFor(denver, status("finalized"))
	tx, ok := other.sim.Transaction("eu:" + london)
	if !ok || tx.TaxAmountToCollect != 6000 {
		t.Fatalf("EU connection transaction %+v %v", tx, ok)
	}
	var sent struct {
		AccountingTimeZone string `json:"accountingTimeZone"`
		CustomerID         string `json:"customerId"`
	}
	_ = json.Unmarshal(tx.Versions[0].Request, &sent)
	if sent.AccountingTimeZone != "Europe/Berlin" || sent.CustomerID != "eu:cust-london" {
		t.Fatalf("sent %+v", sent)
	}
	if _, ok := s.anrokTransaction(london); ok {
		t.Fatal("the London invoice also reached the default connection")
	}
	if _, ok := s.anrokTransaction(denver); !ok {
		t.Fatal("the Denver invoice did not use the default connection")
	}
}

// A 429 storm: Anrok allows 2 requests a second for this test; 12 invoices at once still end
// with every invoice committed exactly once and Stripe's tax equal to Anrok's.
func TestRateLimitStormStillCommitsEveryInvoiceOnce(t *testing.T) {
	s := newStack(t, func(c *stackConfig) { c.anrok.RequestsPerSecond = 2 })
	s.loadDemo()
	var ids []string
	for i := 0; i < 12; i++ {
		id := fmt.Sprintf("inv-storm-%02d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		ids = append(ids, id)
	}
	for _, id := range ids {
		st := s.waitForWithin(id, status("finalized"), 90)
		tx, ok := s.anrokTransaction(id)
		if !ok || tx.Version != 1 || tx.Status != anroksim.StatusCommitted {
			t.Fatalf("%s: Anrok transaction %+v", id, tx)
		}
		if si := s.stripeInvoicesOf(id); len(si) != 1 || si[0].TotalTax != 722 || st.Tax != 722 {
			t.Fatalf("%s: Stripe %+v", id, si)
		}
	}
	if s.anrok.Stats().Throttled == 0 {
		t.Fatal("no 429 was served: the storm did not happen")
	}
}

// An exemption certificate on file in Anrok for a Massachusetts customer (linked by the
// customer id taxflow sends) exempts it there; an otherwise identical customer without one
// pays Massachusetts tax.
func TestExemptMassachusettsCustomerPaysNoTax(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	_, denver := s.call("GET", "/v1/customers/cust-denver", nil)
	boston := map[string]string{"line1": "1 Federal St", "city": "Boston", "region": "MA", "postal_code": "02110", "country": "US"}
	for _, id := range []string{"cust-boston-exempt", "cust-boston"} {
		if code, body := s.call("PUT", "/v1/customers/"+id, map[string]any{
			"name": "Boston " + id, "billing_address": boston, "billing_configurations": denver["billing_configurations"],
		}); code != 201 {
			t.Fatalf("%d %v", code, body)
		}
	}
	// The seller files the certificate in Anrok (here through the simulator's Anrok API).
	certificate := map[string]any{
		"customerId": "taxflow-demo:cust-boston-exempt", "customerName": "Boston exempt",
		"effectiveDateBegin": "2026-01-01",
		"certificateFile":    map[string]string{"name": "st-2.pdf", "contentsBase64": "JVBERi0xLjQK"},
		"jurises":            []map[string]string{{"jurisId": "us-MA"}},
	}
	if code, body := postAnrok(t, s.anrokURL, s.opts.AnrokKey, "/v1/seller/certificates/create", certificate); code != 200 {
		t.Fatalf("certificate: %d %s", code, body)
	}
	exempt, taxed := "inv-ma-exempt-"+s.opts.RunID, "inv-ma-"+s.opts.RunID
	s.postInvoice(exempt, "cust-boston-exempt", "usd", line("l1", "platform-fee", 10000))
	s.postInvoice(taxed, "cust-boston", "usd", line("l1", "platform-fee", 10000))
	if st := s.waitFor(exempt, status("finalized")); st.Tax != 0 {
		t.Fatalf("the exempt customer paid tax %d", st.Tax)
	}
	if st := s.waitFor(taxed, status("finalized")); st.Tax <= 0 {
		t.Fatalf("the customer without a certificate paid tax %d", st.Tax)
	}
	_, body := s.call("GET", "/v1/invoices/"+exempt, nil)
	entry := body["lines"].([]any)[0].(map[string]any)["tax_breakdown"].([]any)[0].(map[string]any)
	if entry["jurisdiction"] != "Massachusetts" || entry["not_taxed_reason"] != "exempt" || entry["exempt_reason"] != "customerExempt" {
		t.Fatalf("breakdown entry %v", entry)
	}
	if tx := s.stripeInvoicesOf(exempt)[0].Lines[0].Taxes; len(tx) == 0 || tx[0].TaxabilityReason != "customer_exempt" {
		t.Fatalf("Stripe line taxes %+v", tx)
	}
}

func postAnrok(t *testing.T, base, key, path string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// A credit line (a negative amount) goes to Anrok as is and comes back with negative tax;
// Stripe and Anrok agree on the net.
func TestCreditLineReducesTheTaxInBothSystems(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	id := "inv-credit-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000), line("l2", "platform-fee", -5000))
	st := s.waitFor(id, func(st demo.InvoiceState) bool { return st.Status == "finalized" || st.Status == "failed" })
	if st.Status != "finalized" {
		t.Fatalf("%+v", st)
	}
	tx, _ := s.anrokTransaction(id)
	if lines := sentLines(t, tx); lines[1]["amount"].(float64) != -5000 {
		t.Fatalf("Anrok got %v", lines)
	}
	// 15000 × 4.81% = 721.5 → 722; −5000 × 4.81% = −240.5 → −241.
	if st.Subtotal != 10000 || st.Tax != 722-241 || tx.TaxAmountToCollect != st.Tax {
		t.Fatalf("subtotal %d tax %d, Anrok %d", st.Subtotal, st.Tax, tx.TaxAmountToCollect)
	}
	if si := s.stripeInvoicesOf(id)[0]; si.TotalTax != st.Tax || si.Total != 10000+st.Tax {
		t.Fatalf("Stripe tax %d total %d", si.TotalTax, si.Total)
	}
}
