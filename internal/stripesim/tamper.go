package stripesim

import "slices"

// Changes made behind the API's back, for tests of taxflow's reconciliation: each edits an
// invoice as if someone had changed it in Stripe's dashboard while the webhook endpoint was
// down, or Stripe had lost it. None of them sends an event, and none checks Stripe's rules
// beyond what keeps the simulator consistent — that is the point.

// ForgetInvoice removes an invoice and its lines from its account as if it had never existed
// (test data deleted, or an id from another account): retrieving it answers 404
// resource_missing and no list shows it.
func (s *Server) ForgetInvoice(id string) error {
	return s.withInvoice(id, func(c *call, inv *invoice) *apiError {
		for _, l := range inv.lines {
			c.acct.invoiceItems.remove(l.item.id)
		}
		c.acct.invoices.remove(id)
		return nil
	})
}

// SetInvoiceStatusQuietly moves an invoice to status (open, paid, void or uncollectible)
// without Stripe's state machine and without an event: what a lost webhook looks like.
func (s *Server) SetInvoiceStatusQuietly(id, status string) error {
	return s.withInvoice(id, func(c *call, inv *invoice) *apiError {
		switch status {
		case statusOpen:
		case statusPaid:
			inv.paidAt, inv.amountPaid = c.now, inv.amountDue
		case statusVoid:
			inv.voidedAt = c.now
		case statusUncollectible:
			inv.markedUncollectibleAt = c.now
		default:
			return invalidParam("", "status", "SetInvoiceStatusQuietly takes open, paid, void or uncollectible, not %q.", status)
		}
		inv.status = status
		return nil
	})
}

// SetLineAmount changes the amount of one line of an invoice (its index in the invoice's
// line order) and so the invoice's subtotal and total, whatever the invoice's status.
func (s *Server) SetLineAmount(invoiceID string, line int, amount int64) error {
	return s.withInvoice(invoiceID, func(c *call, inv *invoice) *apiError {
		l, e := lineAt(inv, line)
		if e != nil {
			return e
		}
		l.item.amount = amount
		return nil
	})
}

// SetLineTax changes the first tax amount of one line of an invoice, and so the invoice's
// tax and total, whatever the invoice's status.
func (s *Server) SetLineTax(invoiceID string, line int, amount int64) error {
	return s.withInvoice(invoiceID, func(c *call, inv *invoice) *apiError {
		l, e := lineAt(inv, line)
		if e != nil {
			return e
		}
		if len(l.taxes) == 0 {
			return invalidParam("", "line", "Line %d of invoice %s has no tax amount to change.", line, invoiceID)
		}
		l.taxes[0].amount = amount
		return nil
	})
}

func lineAt(inv *invoice, line int) (*invoiceLine, *apiError) {
	if line < 0 || line >= len(inv.lines) {
		return nil, invalidParam("", "line", "Invoice %s has %d lines; there is no line %d.", inv.id, len(inv.lines), line)
	}
	return inv.lines[line], nil
}

// remove forgets one object.
func (s *store[T]) remove(id string) {
	if _, ok := s.byID[id]; !ok {
		return
	}
	delete(s.byID, id)
	if i := slices.Index(s.order, id); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
}
