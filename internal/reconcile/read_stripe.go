package reconcile

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// readStripe lists the Stripe invoices created in the window of each account to read, reads
// by id the period's invoices the listing did not find, and lists the credit notes of the
// invoices taxflow credited.
func (r *Reconciler) readStripe(ctx context.Context, p Params, o *observed, accounts map[string]*stripeAccount) error {
	var toRead []*stripeAccount
	want := func(id string) {
		if g := accounts[id]; g != nil && !slices.Contains(toRead, g) {
			toRead = append(toRead, g)
		}
	}
	switch {
	case p.StripeAccountID != "":
		want(p.StripeAccountID)
	case p.AnrokConnectionID != "":
		for _, inv := range o.invoices {
			want(inv.StripeAccountID)
		}
	default:
		for _, id := range slices.Sorted(maps.Keys(accounts)) {
			want(id)
		}
	}
	for _, g := range toRead {
		if err := r.listStripe(ctx, o, g); err != nil {
			return err
		}
	}
	for _, inv := range o.invoices {
		g := accounts[inv.StripeAccountID]
		if inFlight(inv) || inv.StripeInvoiceID == "" || g == nil {
			continue
		}
		if _, ok := o.stripe[inv.StripeInvoiceID]; !ok {
			err := r.read(ctx, func() error {
				s, err := g.reader.InvoiceSummary(ctx, inv.StripeInvoiceID)
				if err == nil {
					o.stripe[inv.StripeInvoiceID] = StripeInvoice{InvoiceSummary: s, Account: g.name}
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("read Stripe invoice %s of invoice %s (Stripe account %s): %w", inv.StripeInvoiceID, inv.ID, inv.StripeAccountID, err)
			}
		}
		if !credited(inv) {
			continue
		}
		err := r.read(ctx, func() error {
			notes, err := g.reader.CreditNotesOf(ctx, inv.StripeInvoiceID)
			if err == nil {
				o.stripeCreditNotes[inv.StripeInvoiceID] = notes
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("list the credit notes of Stripe invoice %s (Stripe account %s): %w", inv.StripeInvoiceID, inv.StripeAccountID, err)
		}
	}
	return nil
}

// listStripe lists one account's invoices created in the window, resuming after the last
// invoice read when a page fails.
func (r *Reconciler) listStripe(ctx context.Context, o *observed, g *stripeAccount) error {
	after := ""
	err := r.read(ctx, func() error {
		for s, err := range g.reader.InvoicesCreated(ctx, o.windowFrom, o.windowTo, after) {
			if err != nil {
				return err
			}
			o.stripe[s.ID] = StripeInvoice{InvoiceSummary: s, Account: g.name, Listed: true}
			after = s.ID
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the invoices of Stripe account %s: %w", g.name, err)
	}
	return nil
}

// credited: the invoice has a credit note Stripe should hold.
func credited(inv Invoice) bool {
	return slices.ContainsFunc(inv.CreditNotes, func(cn CreditNote) bool { return cn.StripeCreditNoteID != "" })
}
