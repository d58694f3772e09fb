package e2e

import (
	"context"
	"testing"

	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/stripesim"
)

// stripeClient talks to the simulator as the demo account's owner would (the dashboard).
func (s *stack) stripeClient() *stripe.Client {
	return stripe.NewClient(s.opts.StripeKey, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String(s.stripeURL), MaxNetworkRetries: stripe.Int64(0), LeveledLogger: quietLogger{},
	})))
}

type quietLogger struct{}

func (quietLogger) Debugf(string, ...interface{}) {}
func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Warnf(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}

func external(want string) func(demo.InvoiceState) bool {
	return func(st demo.InvoiceState) bool {
		return st.ExternalInvoice != nil && st.ExternalInvoice.ExternalStatus != nil && *st.ExternalInvoice.ExternalStatus == want
	}
}

// Stripe's signed webhooks move the invoice: paid → PAID; a failed payment →
// PAYMENT_FAILED; marked uncollectible → UNCOLLECTIBLE; voided in Stripe's dashboard → VOID,
// and the void reaches Anrok.
func TestStripeStatusesAreMirroredFromSignedWebhooks(t *testing.T) {
	s := newStack(t)
	res := s.loadDemo()
	s.settle(res)
	ids := map[string]string{}
	for _, inv := range res.Invoices {
		ids[inv.Customer] = s.stripeInvoicesOf(inv.ID)[0].ID
	}
	denver, nyc, berlin := res.Invoices[0].ID, res.Invoices[1].ID, res.Invoices[2].ID

	if _, err := s.stripe.PayInvoice(ids["cust-denver"]); err != nil {
		t.Fatal(err)
	}
	if st := s.waitFor(denver, external("PAID")); st.Status != "paid" {
		t.Fatalf("paid: %+v", st)
	}

	if _, err := s.stripe.FailInvoicePayment(ids["cust-nyc"], "generic_decline"); err != nil {
		t.Fatal(err)
	}
	if st := s.waitFor(nyc, external("PAYMENT_FAILED")); st.Status != "finalized" {
		t.Fatalf("payment failed: %+v", st)
	}
	sc := s.stripeClient()
	if _, err := sc.V1Invoices.MarkUncollectible(context.Background(), ids["cust-nyc"], nil); err != nil {
		t.Fatal(err)
	}
	if st := s.waitFor(nyc, external("UNCOLLECTIBLE")); st.Status != "uncollectible" {
		t.Fatalf("uncollectible: %+v", st)
	}

	if _, err := sc.V1Invoices.VoidInvoice(context.Background(), ids["cust-berlin"], nil); err != nil {
		t.Fatal(err)
	}
	st := s.waitFor(berlin, func(st demo.InvoiceState) bool { return st.TaxStatus == "voided" })
	if st.Status != "void" || *st.ExternalInvoice.ExternalStatus != "VOID" {
		t.Fatalf("voided in Stripe: %+v", st)
	}
	if tx, _ := s.anrokTransaction(berlin); tx.Status != anroksim.StatusVoided {
		t.Fatalf("the void did not reach Anrok: %s", tx.Status)
	}
}

// leave_as_draft: taxflow commits the tax and leaves the draft; finalized by a person in
// Stripe, the invoice is finalized in taxflow; a draft deleted in Stripe ends the invoice and
// its Anrok transaction is voided.
func TestLeaveAsDraftFollowsTheDraftInStripe(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	s.setSettings(map[string]any{"leave_as_draft": true})
	kept, deleted := "inv-kept-"+s.opts.RunID, "inv-deleted-"+s.opts.RunID
	s.postInvoice(kept, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	s.postInvoice(deleted, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	for _, id := range []string{kept, deleted} {
		st := s.waitFor(id, func(st demo.InvoiceState) bool { return st.Status == "draft" && st.TaxStatus == "committed" })
		if si := s.stripeInvoicesOf(id); len(si) != 1 || si[0].Status != "draft" || si[0].TotalTax != 722 {
			t.Fatalf("%s: Stripe %+v (taxflow %+v)", id, si, st)
		}
	}
	sc := s.stripeClient()
	if _, err := sc.V1Invoices.FinalizeInvoice(context.Background(), s.stripeInvoicesOf(kept)[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.waitFor(kept, status("finalized")); st.Tax != 722 || *st.ExternalInvoice.ExternalStatus != "FINALIZED" {
		t.Fatalf("finalized in Stripe: %+v", st)
	}
	if _, err := sc.V1Invoices.Delete(context.Background(), s.stripeInvoicesOf(deleted)[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	st := s.waitFor(deleted, func(st demo.InvoiceState) bool { return st.TaxStatus == "voided" })
	if *st.ExternalInvoice.ExternalStatus != "DELETED" || st.Status != "void" {
		t.Fatalf("deleted in Stripe: %+v", st)
	}
	if tx, _ := s.anrokTransaction(deleted); tx.Status != anroksim.StatusVoided {
		t.Fatalf("Anrok transaction of a deleted draft: %s", tx.Status)
	}
}

// stripe_app: the Anrok Stripe app computes the tax on the draft (automatic tax); taxflow
// waits for invoice.updated, finalizes, and reads the tax back — calling Anrok itself never.
func TestStripeAppTaxModeOnTime(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	s.setSettings(map[string]any{"tax_mode": "stripe_app"})
	anrokBefore := s.anrok.Stats().Requests
	id := "inv-app-" + s.opts.RunID
	s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
	st := s.waitFor(id, status("finalized"))
	si := s.stripeInvoicesOf(id)[0]
	if !si.AutomaticTax || si.TotalTax != 722 || st.Tax != 722 || st.Total != 15722 || st.TaxStatus != "committed" {
		t.Fatalf("taxflow %+v, Stripe tax %d automatic %v", st, si.TotalTax, si.AutomaticTax)
	}
	if st.AnrokTransaction == nil || st.AnrokTransaction.ID != "stripe:"+si.ID {
		t.Fatalf("the Anrok app's transaction: %+v", st.AnrokTransaction)
	}
	if s.anrok.Stats().Requests != anrokBefore {
		t.Fatal("taxflow called Anrok in stripe_app mode")
	}
}

// stripe_app at the deadline, under each on_tax_timeout policy.
func TestStripeAppDeadlineUnderEachPolicy(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	if err := s.stripe.SetAutomaticTaxOutcome(s.opts.StripeKey, stripesim.AutomaticTaxNeverCompletes); err != nil {
		t.Fatal(err)
	}
	post := func(policy string) string {
		s.setSettings(map[string]any{"tax_mode": "stripe_app", "tax_wait": "2s", "on_tax_timeout": policy})
		id := "inv-app-" + policy + "-" + s.opts.RunID
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		s.waitFor(id, func(st demo.InvoiceState) bool { return len(st.Errors) > 0 })
		return id
	}
	failed := post("fail")
	if st := s.waitFor(failed, status("failed")); st.Errors[0].Code != "tax_timeout" {
		t.Fatalf("fail: %+v", st)
	}
	kept := post("keep_draft")
	if st := s.waitFor(kept, status("draft")); st.Errors[0].Code != "tax_timeout" || s.stripeInvoicesOf(kept)[0].Status != "draft" {
		t.Fatalf("keep_draft: %+v", st)
	}
	finalized := post("finalize")
	st := s.waitFor(finalized, status("finalized"))
	if st.Errors[0].Code != "finalized_without_tax" || st.Tax != 0 || st.TaxStatus != "failed" {
		t.Fatalf("finalize: %+v", st)
	}
	if si := s.stripeInvoicesOf(finalized)[0]; si.Status != "open" || si.AutomaticTax {
		t.Fatalf("finalize: Stripe %+v", si)
	}
}

// anrok_api at the deadline, under each on_tax_timeout policy: Anrok answers nothing but
// 500s for longer than tax_wait.
func TestAnrokDeadlineUnderEachPolicy(t *testing.T) {
	s := newStack(t)
	s.settle(s.loadDemo())
	if err := s.anrok.SetFaultRates(anroksim.FaultRates{ServerError: 1}); err != nil {
		t.Fatal(err)
	}
	post := func(policy string) string {
		s.setSettings(map[string]any{"tax_wait": "2s", "on_tax_timeout": policy})
		id := "inv-anrok-" + policy + "-" + s.opts.RunID
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		s.waitFor(id, func(st demo.InvoiceState) bool { return len(st.Errors) > 0 })
		return id
	}
	failed := post("fail")
	if st := s.waitFor(failed, status("failed")); st.Errors[0].Code != "tax_timeout" || st.TaxStatus != "failed" {
		t.Fatalf("fail: %+v", st)
	}
	kept := post("keep_draft")
	st := s.waitFor(kept, status("draft"))
	if st.Errors[0].Code != "tax_timeout" || len(s.stripeInvoicesOf(kept)) != 1 || s.stripeInvoicesOf(kept)[0].Status != "draft" {
		t.Fatalf("keep_draft: %+v", st)
	}
	finalized := post("finalize")
	st = s.waitFor(finalized, status("finalized"))
	if st.Errors[0].Code != "finalized_without_tax" || st.Tax != 0 {
		t.Fatalf("finalize: %+v", st)
	}
	if _, ok := s.anrokTransaction(finalized); ok {
		t.Fatal("finalized without tax, yet committed in Anrok")
	}
	// Anrok recovers: the kept draft, retried, is taxed, committed and finalized.
	s.anrok.ClearFaults()
	s.setSettings(map[string]any{})
	if code, body := s.call("POST", "/v1/invoices/"+kept+"/retry", nil); code != 202 {
		t.Fatalf("retry: %d %v", code, body)
	}
	if st := s.waitFor(kept, status("finalized")); st.Tax != 722 {
		t.Fatalf("kept draft after the retry: %+v", st)
	}
}
