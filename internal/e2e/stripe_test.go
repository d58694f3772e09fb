package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/demo"
)

// setSettings replaces the demo Stripe account's settings (PUT replaces the account: the
// alias and base URL are sent again; the secrets, write-only, are kept when left out).
func (s *stack) setSettings(settings map[string]any) {
	s.t.Helper()
	_, acct := s.call("GET", "/v1/stripe-accounts/"+demo.StripeAccountID, nil)
	if code, body := s.call("PUT", "/v1/stripe-accounts/"+demo.StripeAccountID, map[string]any{
		"alias": acct["alias"], "base_url": acct["base_url"], "settings": settings,
	}); code != 200 {
		s.t.Fatalf("settings: %d %v", code, body)
	}
}

func qline(id, product, quantity, unit string, amount int64) map[string]any {
	return map[string]any{"id": id, "product_id": product, "quantity": quantity, "unit_price": unit, "amount": amount}
}

// days_until_due: a send_invoice invoice is due that many days after it is created.
func TestDaysUntilDueSetsTheDueDate(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	s.setSettings(map[string]any{"days_until_due": 14})
	id := "inv-due-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(id, status("finalized"))
	si := s.stripeInvoicesOf(id)[0]
	if si.CollectionMethod != "send_invoice" || si.DueDate-si.Created != 14*24*3600 {
		t.Fatalf("collection %s, due %d created %d", si.CollectionMethod, si.DueDate, si.Created)
	}
}

// align_effective_at: the Stripe invoice's date of issue is the service period's last day.
func TestAlignEffectiveAtUsesTheLastDayOfTheServicePeriod(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	s.setSettings(map[string]any{"align_effective_at": true})
	id := "inv-effective-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.waitFor(id, status("finalized"))
	want := time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC).Unix() // the period ends 2026-11-01T00:00:00Z
	if got := s.stripeInvoicesOf(id)[0].EffectiveAt; got != want {
		t.Fatalf("effective_at %s, want %s", time.Unix(got, 0).UTC(), time.Unix(want, 0).UTC())
	}
}

// Zero-quantity lines are hidden unless show_zero_quantity_lines; always_show_quantity
// writes quantities into descriptions.
func TestZeroQuantityLinesAndAlwaysShowQuantity(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	hidden := "inv-zero-hidden-" + s.opts.RunID
	s.postInvoice(hidden, "cust-denver", "usd", qline("l1", "platform-fee", "3", "50", 150), qline("l2", "api-calls", "0", "0.02", 0))
	s.waitFor(hidden, status("finalized"))
	if n := len(s.stripeInvoicesOf(hidden)[0].Lines); n != 1 {
		t.Fatalf("%d Stripe lines, want 1: the zero-quantity line is hidden", n)
	}
	s.setSettings(map[string]any{"show_zero_quantity_lines": true, "always_show_quantity": true})
	shown := "inv-zero-shown-" + s.opts.RunID
	s.postInvoice(shown, "cust-denver", "usd", qline("l1", "platform-fee", "3", "50", 150), qline("l2", "api-calls", "0", "0.02", 0))
	s.waitFor(shown, status("finalized"))
	lines := s.stripeInvoicesOf(shown)[0].Lines
	if len(lines) != 2 || !strings.Contains(lines[0].Description, "(quantity 3 × 50)") || lines[0].Quantity != 3 {
		t.Fatalf("Stripe lines %+v", lines)
	}
}

// Stripe quantities are integers: one decimal quantity makes every line quantity 1 at its
// amount, with its true quantity and unit price in the description.
func TestADecimalQuantityMakesEveryLineQuantityOne(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	id := "inv-decimal-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", qline("l1", "platform-fee", "3", "50", 150), qline("l2", "api-calls", "12.5", "0.02", 25))
	st := s.waitFor(id, status("finalized"))
	for _, l := range s.stripeInvoicesOf(id)[0].Lines {
		if l.Quantity != 1 || !strings.Contains(l.Description, "(quantity ") {
			t.Fatalf("Stripe line %+v", l)
		}
	}
	if st.Subtotal != 175 {
		t.Fatalf("subtotal %d", st.Subtotal)
	}
}

// Over 250 lines: one Stripe line named with the company name carries the total; the tax
// is computed on the real lines and summed; taxflow keeps every line.
func TestOver250LinesBecomeOneStripeLine(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	s.setSettings(map[string]any{"company_name": "Acme Analytics"})
	var lines []map[string]any
	for i := 0; i < 300; i++ {
		lines = append(lines, line(fmt.Sprintf("l%03d", i), "platform-fee", 1001))
	}
	id := "inv-many-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", lines...)
	st := s.waitForWithin(id, status("finalized"), 60)
	si := s.stripeInvoicesOf(id)[0]
	if len(si.Lines) != 1 || si.Lines[0].Amount != 300*1001 || !strings.HasPrefix(si.Lines[0].Description, "Acme Analytics — 300 lines") {
		t.Fatalf("Stripe lines %d: %+v", len(si.Lines), si.Lines[0])
	}
	tx, _ := s.anrokTransaction(id)
	if si.TotalTax != tx.TaxAmountToCollect || st.Tax != tx.TaxAmountToCollect || len(sentLines(t, tx)) != 300 {
		t.Fatalf("Stripe tax %d, Anrok %d over %d lines, taxflow %d", si.TotalTax, tx.TaxAmountToCollect, len(sentLines(t, tx)), st.Tax)
	}
	_, body := s.call("GET", "/v1/invoices/"+id, nil)
	if n := len(body["lines"].([]any)); n != 300 {
		t.Fatalf("taxflow shows %d lines", n)
	}
}

// skip_below_minimum: an invoice under the currency's minimum charge (USD 0.50) is not
// sent: no Stripe invoice remains and nothing is committed in Anrok.
func TestInvoiceBelowTheMinimumIsSkipped(t *testing.T) {
	s := newStack(t)
	s.loadDemo()
	s.setSettings(map[string]any{"skip_below_minimum": true})
	small, large := "inv-small-"+s.opts.RunID, "inv-large-"+s.opts.RunID
	s.postInvoice(small, "cust-denver", "usd", line("l1", "platform-fee", 30))
	s.postInvoice(large, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	st := s.waitFor(small, status("skipped"))
	if st.TaxStatus != "not_applicable" || len(s.stripeInvoicesOf(small)) != 0 {
		t.Fatalf("skipped invoice %+v, Stripe %d", st, len(s.stripeInvoicesOf(small)))
	}
	if _, ok := s.anrokTransaction(small); ok {
		t.Fatal("a skipped invoice was committed in Anrok")
	}
	s.waitFor(large, status("finalized"))
}

// Adding a billing configuration never sends invoices finalized before it existed.
func TestNewBillingConfigurationDoesNotResendOldInvoices(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	before := len(s.stripe.Invoices())
	_, cust := s.call("GET", "/v1/customers/cust-denver", nil)
	bcs := cust["billing_configurations"].([]any)
	extra := map[string]any{"id": "second", "stripe_account_id": demo.StripeAccountID, "stripe_customer_id": bcs[0].(map[string]any)["stripe_customer_id"], "collection_method": "charge_automatically"}
	cust["billing_configurations"] = append(bcs, extra)
	for _, k := range []string{"id", "created_at", "updated_at"} {
		delete(cust, k)
	}
	if code, body := s.call("PUT", "/v1/customers/cust-denver", cust); code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	time.Sleep(500 * time.Millisecond)
	if after := len(s.stripe.Invoices()); after != before {
		t.Fatalf("Stripe invoices %d → %d after adding a billing configuration", before, after)
	}
	// With two configurations, an invoice must name one.
	code, body := s.call("POST", "/v1/invoices", map[string]any{
		"id": "inv-which-" + s.opts.RunID, "customer_id": "cust-denver", "currency": "usd", "issued_at": "2026-11-01T00:00:00Z",
		"service_period": map[string]string{"start": "2026-10-01T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
		"lines":          []map[string]any{line("l1", "platform-fee", 100)},
	})
	if code != 422 || body["error"].(map[string]any)["field"] != "billing_configuration_id" {
		t.Fatalf("%d %v", code, body)
	}
	_ = context.Background()
}
