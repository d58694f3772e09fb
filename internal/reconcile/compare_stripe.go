package reconcile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/taxflow/taxflow/internal/billing/stripebilling"
)

// expectedStripe is the Stripe status (or statuses) each final taxflow status stands for.
var expectedStripe = map[string][]string{
	statusFinalized:     {"open"},
	statusPaid:          {"paid"},
	statusUncollectible: {"uncollectible"},
	// A draft deleted in Stripe ends a leave_as_draft invoice as void.
	statusVoid: {"void", stripebilling.StatusDeleted},
	// A skipped invoice's draft was deleted.
	statusSkipped: {stripebilling.StatusDeleted, "void"},
}

// stripeInvoice checks the invoice's Stripe side and returns the Stripe invoice whose
// amounts stand for it (nil when there is none to compare).
func (c *comparison) stripeInvoice(inv Invoice) *StripeInvoice {
	var others []string
	for _, s := range c.stripeOf[inv.ID] {
		if s.ID != inv.StripeInvoiceID {
			others = append(others, s.ID)
		}
	}
	if len(others) > 0 {
		all := others
		if inv.StripeInvoiceID != "" {
			all = append([]string{inv.StripeInvoiceID}, others...)
		}
		first := c.o.stripe[others[0]]
		c.add(Difference{Kind: DuplicateInStripe, InvoiceID: inv.ID, StripeInvoiceID: others[0], AnrokTransactionID: inv.AnrokTransactionID,
			Taxflow: invoiceSide(inv), Stripe: &StripeSide{Status: first.Status, Currency: first.Currency, Subtotal: ptr(first.Subtotal),
				Tax: ptr(first.Tax), Total: ptr(first.Total), InvoiceIDs: all},
			Message: fmt.Sprintf("Stripe has %d live invoices naming taxflow invoice %s in metadata (%s); taxflow bills through %s. "+
				"Void the others in Stripe (delete them while they are drafts) so that the customer is billed once.",
				len(all), inv.ID, strings.Join(all, ", "), orNone(inv.StripeInvoiceID))})
	}
	want, final := expectedStripe[inv.Status]
	if inv.StripeInvoiceID == "" {
		if final && !slices.Contains(want, stripebilling.StatusDeleted) {
			c.add(Difference{Kind: MissingInStripe, InvoiceID: inv.ID, AnrokTransactionID: inv.AnrokTransactionID, Taxflow: invoiceSide(inv),
				Message: fmt.Sprintf("taxflow has the invoice %s but recorded no Stripe invoice for it: look for it in Stripe "+
					"(metadata taxflow_invoice_id = %s) and report the invoice to the taxflow team.", inv.Status, inv.ID)})
		}
		return nil
	}
	s, ok := c.o.stripe[inv.StripeInvoiceID]
	if !ok {
		c.note("invoice %s: its Stripe invoice %s was not read (Stripe account %s), so its Stripe side was not compared",
			inv.ID, inv.StripeInvoiceID, inv.StripeAccountID)
		return nil
	}
	if !final {
		return nil
	}
	deleted := s.Status == stripebilling.StatusDeleted
	switch {
	case deleted && !slices.Contains(want, stripebilling.StatusDeleted):
		c.add(Difference{Kind: MissingInStripe, InvoiceID: inv.ID, StripeInvoiceID: s.ID, AnrokTransactionID: inv.AnrokTransactionID,
			Taxflow: invoiceSide(inv), Stripe: nil,
			Message: fmt.Sprintf("taxflow has the invoice %s on Stripe invoice %s, which Stripe (account %s) does not have: "+
				"check that the account's API key and base URL still point at the Stripe account the invoice was issued in "+
				"(test data deleted? key replaced?). If it is really gone, the customer was never billed: issue a new invoice.",
				inv.Status, s.ID, inv.StripeAccountID)})
		return nil
	case !slices.Contains(want, s.Status):
		c.add(Difference{Kind: StatusMismatch, InvoiceID: inv.ID, StripeInvoiceID: s.ID, AnrokTransactionID: inv.AnrokTransactionID,
			Taxflow: invoiceSide(inv), Stripe: stripeSide(&s), Message: stripeStatusMessage(inv, s.Status)})
	}
	if deleted {
		return nil
	}
	return &s
}

// stripeStatusMessage says what a status disagreement means and what to do.
func stripeStatusMessage(inv Invoice, stripeStatus string) string {
	head := fmt.Sprintf("Stripe has the invoice %s, taxflow has it %s", stripeStatus, inv.Status)
	webhook := "Stripe's event never reached taxflow: check the Stripe account's webhook endpoint " +
		"(/v1/webhooks/stripe/" + inv.StripeAccountID + ") and its signing secret, then resend the invoice's latest event from Stripe's dashboard"
	switch {
	case inv.Status == statusVoid || inv.Status == statusSkipped:
		return head + ": the customer can still be charged for an invoice taxflow considers cancelled. Void it in Stripe " +
			"(delete it if a draft; if paid, refund or credit it there)."
	case stripeStatus == statusVoid:
		return head + ": " + webhook + ", or void it through taxflow (POST /v1/invoices/" + inv.ID + "/void) — until then its " +
			"tax is still filed in Anrok."
	case stripeStatus == statusDraft:
		return head + ": Stripe holds a draft taxflow believes finalized. Finalize it in Stripe, or void it through taxflow."
	default:
		return head + ": " + webhook + "."
	}
}

// unknownCreditNotes reports the live Stripe credit notes of the invoice whose metadata names
// a taxflow credit note taxflow does not have.
func (c *comparison) unknownCreditNotes(inv Invoice) {
	notes, read := c.o.stripeCreditNotes[inv.StripeInvoiceID]
	if !read || inv.StripeInvoiceID == "" {
		return
	}
	for _, n := range notes {
		if n.TaxflowCreditNoteID == "" || n.Status == statusVoid || slices.ContainsFunc(inv.CreditNotes, func(cn CreditNote) bool { return cn.ID == n.TaxflowCreditNoteID }) {
			continue
		}
		c.add(Difference{Kind: UnknownInStripe, InvoiceID: inv.ID, CreditNoteID: n.TaxflowCreditNoteID, StripeInvoiceID: inv.StripeInvoiceID,
			Stripe: &StripeSide{Status: n.Status, Tax: ptr(n.Tax), Total: ptr(n.Total)},
			Message: fmt.Sprintf("Stripe credit note %s on invoice %s names taxflow credit note %s, which taxflow does not have: "+
				"if it was issued by hand, its tax never reached Anrok — post it through taxflow instead (void it in Stripe, then "+
				"POST /v1/invoices/%s/credit-notes).", n.ID, inv.StripeInvoiceID, n.TaxflowCreditNoteID, inv.ID)})
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
