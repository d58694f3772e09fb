package reconcile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing/stripebilling"
)

// taxflow's invoice statuses, tax statuses and credit note statuses the comparison reads.
const (
	statusReceived      = "received"
	statusDraft         = "draft"
	statusFinalized     = "finalized"
	statusPaid          = "paid"
	statusVoid          = "void"
	statusUncollectible = "uncollectible"
	statusFailed        = "failed"
	statusSkipped       = "skipped"

	taxCommitted = "committed"
	taxVoided    = "voided"
	taxNegated   = "negated"

	creditNoteIssued = "issued"
)

// Anrok's transaction types in its list.
const (
	anrokNormal = "normal"
	anrokVoid   = "void"
)

// Suffixes taxflow puts after an invoice's transaction id (activities: the negation of a
// void, of a lost dispute, and each credit note's transaction).
const (
	suffixVoid           = "void"
	suffixDispute        = "dispute"
	suffixCreditNoteHead = "cn-"
)

// stripeAppPrefix starts the id under which the Anrok Stripe app records a Stripe invoice.
const stripeAppPrefix = "stripe:"

// inFlight: the invoice's workflow is still working on it, or waits for a retry; comparing it
// now would report differences that the workflow is about to remove.
func inFlight(inv Invoice) bool {
	switch inv.Status {
	case statusReceived, statusDraft, statusFailed:
		return true
	}
	return false
}

// comparison holds one comparison's indexes and what it found.
type comparison struct {
	o observed
	// anrokByID finds a transaction by account and id; anrokOf lists an invoice's
	// transactions by account and the invoice id read from their ids.
	anrokByID map[string]*AnrokTransaction
	anrokOf   map[string][]*AnrokTransaction
	// stripeOf lists the live Stripe invoices (not void, not deleted) whose metadata names
	// each taxflow invoice.
	stripeOf map[string][]StripeInvoice
	diffs    []Difference
	notes    []string
	// appAbsent lists the invoices taxed by the Anrok Stripe app whose transaction the
	// Anrok account of their connection does not hold (one note for all).
	appAbsent []string
}

func anrokKey(account, id string) string { return account + "\x00" + id }

// compare lists every difference among what was observed, the number of invoices in flight
// and notes on what could not be compared.
func compare(o observed) (diffs []Difference, inFlightCount int, notes []string) {
	c := &comparison{o: o, anrokByID: map[string]*AnrokTransaction{}, anrokOf: map[string][]*AnrokTransaction{},
		stripeOf: map[string][]StripeInvoice{}}
	for i := range o.anrok {
		t := &o.anrok[i]
		c.anrokByID[anrokKey(t.Account, t.ID)] = t
		if t.InvoiceID != "" {
			c.anrokOf[anrokKey(t.Account, t.InvoiceID)] = append(c.anrokOf[anrokKey(t.Account, t.InvoiceID)], t)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(o.stripe)) {
		s := o.stripe[id]
		if s.TaxflowInvoiceID != "" && live(s.Status) {
			c.stripeOf[s.TaxflowInvoiceID] = append(c.stripeOf[s.TaxflowInvoiceID], s)
		}
	}
	period := map[string]bool{}
	for _, inv := range o.invoices {
		period[inv.ID] = true
		if inFlight(inv) {
			inFlightCount++
			continue
		}
		c.invoice(inv)
	}
	c.unknowns(period)
	if n := len(c.appAbsent); n > 0 {
		shown := c.appAbsent[:min(n, 5)]
		more := ""
		if n > len(shown) {
			more = fmt.Sprintf(" and %d more", n-len(shown))
		}
		c.note("%d invoices were taxed by the Anrok Stripe app, whose transactions (stripe:<Stripe invoice id>) are not in "+
			"the Anrok account of their connection, so their Anrok side was not compared: check them in the Anrok account "+
			"the app is installed in (%s%s)", n, strings.Join(shown, ", "), more)
	}
	slices.SortStableFunc(c.diffs, func(a, b Difference) int {
		return cmp.Or(cmp.Compare(a.InvoiceID, b.InvoiceID), cmp.Compare(slices.Index(Kinds, a.Kind), slices.Index(Kinds, b.Kind)),
			cmp.Compare(a.CreditNoteID, b.CreditNoteID), cmp.Compare(a.StripeInvoiceID, b.StripeInvoiceID),
			cmp.Compare(a.AnrokTransactionID, b.AnrokTransactionID))
	})
	return c.diffs, inFlightCount, c.notes
}

// live: a Stripe invoice that bills (or may still bill) the customer.
func live(stripeStatus string) bool {
	return stripeStatus != statusVoid && stripeStatus != stripebilling.StatusDeleted
}

func (c *comparison) add(d Difference) { c.diffs = append(c.diffs, d) }

func (c *comparison) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// invoice compares one invoice that is not in flight.
func (c *comparison) invoice(inv Invoice) {
	s := c.stripeInvoice(inv)
	t := c.anrokTransaction(inv)
	c.anrokExtras(inv)
	if inv.Status != statusVoid && inv.Status != statusSkipped {
		c.amountsAndTax(inv, s, t)
	}
	for _, cn := range inv.CreditNotes {
		if cn.Status == creditNoteIssued {
			c.creditNote(inv, cn)
		}
	}
	c.unknownCreditNotes(inv)
}

// amountsAndTax compares the invoice's amounts and tax with the Stripe invoice and Anrok
// transaction that stand for it (nil: not comparable).
func (c *comparison) amountsAndTax(inv Invoice, s *StripeInvoice, t *AnrokTransaction) {
	var amounts, taxes []string
	if s != nil {
		if !strings.EqualFold(s.Currency, inv.Currency) {
			amounts = append(amounts, fmt.Sprintf("currency: taxflow %s, Stripe %s", inv.Currency, s.Currency))
		}
		if s.Subtotal != inv.Subtotal {
			amounts = append(amounts, fmt.Sprintf("subtotal: taxflow %d, Stripe %d", inv.Subtotal, s.Subtotal))
		}
		if s.Total != inv.Total {
			amounts = append(amounts, fmt.Sprintf("total: taxflow %d, Stripe %d", inv.Total, s.Total))
		}
		if s.Tax != inv.Tax {
			taxes = append(taxes, fmt.Sprintf("Stripe %d", s.Tax))
		}
	}
	if t != nil {
		if !strings.EqualFold(t.Currency, inv.Currency) {
			amounts = append(amounts, fmt.Sprintf("currency: taxflow %s, Anrok %s", inv.Currency, t.Currency))
		}
		if t.InputAmount != inv.Subtotal {
			amounts = append(amounts, fmt.Sprintf("subtotal: taxflow %d, Anrok %d", inv.Subtotal, t.InputAmount))
		}
		if taxDiffers(*t, inv.Tax) {
			taxes = append(taxes, "Anrok "+anrokTaxText(*t))
		}
	}
	d := Difference{InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: inv.AnrokTransactionID,
		Taxflow: invoiceSide(inv), Stripe: stripeSide(s), Anrok: anrokSide(t)}
	if len(amounts) > 0 {
		d.Kind = AmountMismatch
		d.Message = strings.Join(amounts, "; ") + ". The invoice was changed outside taxflow: find who edited it " +
			"(the Stripe or Anrok dashboard's history), then correct that side by hand, or void or credit the invoice " +
			"through taxflow and issue it again."
		c.add(d)
	}
	if len(taxes) > 0 {
		d.Kind = TaxMismatch
		d.Message = fmt.Sprintf("tax: taxflow %d, %s. Stripe's tax must equal the tax Anrok files, to the cent: "+
			"the side that differs from taxflow was changed outside taxflow. Correct it by hand to taxflow's "+
			"figure, or void or credit the invoice through taxflow (which keeps both in step) and issue it again.",
			inv.Tax, strings.Join(taxes, ", "))
		c.add(d)
	}
}

// taxDiffers compares a transaction's tax with want: exactly when Anrok listed the integer
// tax of each line; otherwise its exact tax may differ from the collected integer by at most
// half a unit per line (each line is rounded on its own).
func taxDiffers(t AnrokTransaction, want int64) bool {
	if t.TaxFromLines {
		return t.Tax != want
	}
	tolerance := decimal.NewFromInt(int64(max(t.Lines, 1))).Div(decimal.NewFromInt(2))
	return t.TaxExact.Sub(decimal.NewFromInt(want)).Abs().GreaterThan(tolerance)
}

func anrokTaxText(t AnrokTransaction) string {
	if t.TaxFromLines {
		return fmt.Sprint(t.Tax)
	}
	return t.TaxExact.String() + " (exact)"
}

func invoiceSide(inv Invoice) *TaxflowSide {
	return &TaxflowSide{Status: inv.Status, TaxStatus: inv.TaxStatus, Currency: inv.Currency,
		Subtotal: ptr(inv.Subtotal), Tax: ptr(inv.Tax), Total: ptr(inv.Total)}
}

func creditNoteSide(cn CreditNote) *TaxflowSide {
	return &TaxflowSide{Status: cn.Status, Tax: ptr(cn.Tax), Total: ptr(cn.Total)}
}

func stripeSide(s *StripeInvoice) *StripeSide {
	if s == nil {
		return nil
	}
	if s.Status == stripebilling.StatusDeleted {
		return &StripeSide{Status: s.Status}
	}
	return &StripeSide{Status: s.Status, Currency: s.Currency, Subtotal: ptr(s.Subtotal), Tax: ptr(s.Tax), Total: ptr(s.Total)}
}

func anrokSide(t *AnrokTransaction) *AnrokSide {
	if t == nil {
		return nil
	}
	if t.Type != anrokNormal {
		return &AnrokSide{Type: t.Type}
	}
	out := &AnrokSide{Type: t.Type, Currency: t.Currency, InputAmount: ptr(t.InputAmount)}
	if t.TaxFromLines {
		out.Tax = ptr(t.Tax)
	} else {
		exact := t.TaxExact
		out.TaxExact = &exact
	}
	return out
}
