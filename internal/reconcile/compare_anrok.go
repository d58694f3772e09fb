package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// anrokTransaction checks the invoice's Anrok side against its tax status and returns the
// transaction whose amounts stand for it (nil when there is none to compare).
func (c *comparison) anrokTransaction(inv Invoice) *AnrokTransaction {
	if inv.AnrokAccount == "" {
		if inv.AnrokTransactionID != "" {
			c.note("invoice %s: its Anrok connection's account was not read, so transaction %s was not compared", inv.ID, inv.AnrokTransactionID)
		}
		return nil
	}
	var stored *AnrokTransaction
	if inv.AnrokTransactionID != "" {
		stored = c.anrokByID[anrokKey(inv.AnrokAccount, inv.AnrokTransactionID)]
	}
	// The invoice's live transactions: the one taxflow recorded, and any other whose id
	// names the invoice under a prefix of the account's connections.
	var live []*AnrokTransaction
	if stored != nil && stored.Type == anrokNormal {
		live = append(live, stored)
	}
	for _, t := range c.anrokOf[anrokKey(inv.AnrokAccount, inv.ID)] {
		if t.Suffix == "" && t.Type == anrokNormal && t != stored {
			live = append(live, t)
		}
	}
	if len(live) > 1 {
		ids := make([]string, len(live))
		for i, t := range live {
			ids[i] = t.ID
		}
		// The one to name is one taxflow did not record.
		extra := live[slices.IndexFunc(live, func(t *AnrokTransaction) bool { return t != stored })]
		side := anrokSide(extra)
		side.TransactionIDs = ids
		c.add(Difference{Kind: DuplicateInAnrok, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: extra.ID,
			Taxflow: invoiceSide(inv), Anrok: side,
			Message: fmt.Sprintf("Anrok files %d transactions for taxflow invoice %s (%s); taxflow recorded %s. One was committed "+
				"through another connection of the same Anrok account: void the others in Anrok so that the tax is filed once.",
				len(ids), inv.ID, strings.Join(ids, ", "), orNone(inv.AnrokTransactionID))})
	}
	cancelled := inv.Status == statusVoid || inv.Status == statusSkipped
	switch {
	case inv.TaxStatus == taxNegated:
		return c.negated(inv, stored, cancelled)
	case inv.TaxStatus == taxVoided || cancelled:
		if len(live) > 0 {
			c.add(Difference{Kind: StatusMismatch, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: live[0].ID,
				Taxflow: invoiceSide(inv), Anrok: anrokSide(live[0]),
				Message: fmt.Sprintf("taxflow has the invoice %s (tax %s) but Anrok still files transaction %s: its tax is declared "+
					"for a sale that did not happen. Void %s in Anrok (a negation if Anrok has filed it).",
					inv.Status, inv.TaxStatus, live[0].ID, live[0].ID)})
		}
		return nil
	case inv.TaxStatus == taxCommitted:
		switch {
		case stored == nil && strings.HasPrefix(inv.AnrokTransactionID, stripeAppPrefix):
			c.appAbsent = append(c.appAbsent, inv.ID)
			return nil
		case stored == nil:
			c.add(Difference{Kind: MissingInAnrok, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: inv.AnrokTransactionID,
				Taxflow: invoiceSide(inv),
				Message: fmt.Sprintf("Anrok has no transaction %s for this %s invoice, so its tax is not filed: check that the "+
					"connection's API key and base URL point at the Anrok account taxflow committed it in; if the transaction is "+
					"really gone, record it again in Anrok under the same id with the invoice's lines.", inv.AnrokTransactionID, inv.Status)})
			return nil
		case stored.Type != anrokNormal:
			c.add(Difference{Kind: StatusMismatch, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: stored.ID,
				Taxflow: invoiceSide(inv), Anrok: anrokSide(stored),
				Message: fmt.Sprintf("Anrok has transaction %s void but taxflow has the invoice %s with its tax committed, so "+
					"the tax billed is not filed. If the invoice stands, record %s again in Anrok; if it was cancelled, void "+
					"it through taxflow (POST /v1/invoices/%s/void).", stored.ID, inv.Status, stored.ID, inv.ID)})
			return nil
		}
		return stored
	default:
		if len(live) > 0 {
			c.add(Difference{Kind: StatusMismatch, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: live[0].ID,
				Taxflow: invoiceSide(inv), Anrok: anrokSide(live[0]),
				Message: fmt.Sprintf("taxflow committed no tax for this invoice (tax status %s) but Anrok files transaction %s: "+
					"the tax filed was not billed. Void %s in Anrok, or tell the taxflow team if the invoice should carry it.",
					inv.TaxStatus, live[0].ID, live[0].ID)})
		}
		return nil
	}
}

// negated checks an invoice whose transaction taxflow negated (a void after filing, or a
// lost dispute): the original stays, and its negation must exist.
func (c *comparison) negated(inv Invoice, stored *AnrokTransaction, cancelled bool) *AnrokTransaction {
	if stored == nil {
		c.add(Difference{Kind: MissingInAnrok, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: inv.AnrokTransactionID,
			Taxflow: invoiceSide(inv),
			Message: fmt.Sprintf("Anrok has no transaction %s, which taxflow committed and then negated: check that the "+
				"connection points at the Anrok account it was filed in.", inv.AnrokTransactionID)})
		return nil
	}
	for _, suffix := range []string{suffixVoid, suffixDispute} {
		if n := c.anrokByID[anrokKey(inv.AnrokAccount, inv.AnrokTransactionID+":"+suffix)]; n != nil && n.Type == anrokNormal {
			if cancelled {
				return nil
			}
			return stored
		}
	}
	want := inv.AnrokTransactionID + ":" + suffixDispute
	if inv.Status == statusVoid {
		want = inv.AnrokTransactionID + ":" + suffixVoid
	}
	c.add(Difference{Kind: MissingInAnrok, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: want,
		Taxflow: invoiceSide(inv), Anrok: anrokSide(stored),
		Message: fmt.Sprintf("taxflow negated transaction %s but Anrok has no negation of it (%s), so the tax of a %s invoice is "+
			"still filed: record the negation in Anrok (createNegation of %s as %s).", stored.ID, want, inv.Status, stored.ID, want)})
	return nil
}

// anrokExtras checks the invoice's other transactions: negations taxflow did not record and
// credit notes taxflow does not have.
func (c *comparison) anrokExtras(inv Invoice) {
	if inv.AnrokAccount == "" {
		return
	}
	for _, t := range c.anrokOf[anrokKey(inv.AnrokAccount, inv.ID)] {
		if t.Type != anrokNormal || t.Suffix == "" {
			continue
		}
		if cnID, ok := strings.CutPrefix(t.Suffix, suffixCreditNoteHead); ok {
			if !slices.ContainsFunc(inv.CreditNotes, func(cn CreditNote) bool { return cn.ID == cnID }) {
				c.add(Difference{Kind: UnknownInAnrok, InvoiceID: inv.ID, CreditNoteID: cnID, AnrokTransactionID: t.ID,
					Taxflow: invoiceSide(inv), Anrok: anrokSide(t),
					Message: fmt.Sprintf("Anrok files transaction %s, a credit note %s of invoice %s that taxflow does not have: "+
						"void it in Anrok if it was recorded by mistake, or post the credit note through taxflow.", t.ID, cnID, inv.ID)})
			}
			continue
		}
		if inv.TaxStatus != taxNegated {
			c.add(Difference{Kind: StatusMismatch, InvoiceID: inv.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: t.ID,
				Taxflow: invoiceSide(inv), Anrok: anrokSide(t),
				Message: fmt.Sprintf("Anrok holds %s, a negation of the invoice's transaction, but taxflow has its tax %s: the "+
					"invoice's tax is no longer filed. If the invoice stands, void the negation in Anrok; if it was voided "+
					"or its dispute lost, record that through taxflow.", t.ID, inv.TaxStatus)})
		}
	}
}

// creditNote compares an issued credit note with its Stripe credit note and its Anrok
// transaction.
func (c *comparison) creditNote(inv Invoice, cn CreditNote) {
	base := Difference{InvoiceID: inv.ID, CreditNoteID: cn.ID, StripeInvoiceID: inv.StripeInvoiceID, AnrokTransactionID: cn.AnrokTransactionID,
		Taxflow: creditNoteSide(cn)}
	var taxes []string
	var side *StripeSide
	if notes, read := c.o.stripeCreditNotes[inv.StripeInvoiceID]; read && cn.StripeCreditNoteID != "" {
		i := slices.IndexFunc(notes, func(n stripeCreditNote) bool { return n.ID == cn.StripeCreditNoteID })
		switch {
		case i < 0:
			d := base
			d.Kind, d.Message = MissingInStripe, fmt.Sprintf("Stripe has no credit note %s (taxflow credit note %s) on invoice %s: "+
				"the customer was not credited although Anrok was told so. Check the invoice's credit notes in Stripe's dashboard.",
				cn.StripeCreditNoteID, cn.ID, inv.StripeInvoiceID)
			c.add(d)
		case notes[i].Status == statusVoid:
			d := base
			d.Stripe = &StripeSide{Status: notes[i].Status, Tax: ptr(notes[i].Tax), Total: ptr(notes[i].Total)}
			d.Kind, d.Message = StatusMismatch, fmt.Sprintf("Stripe credit note %s was voided outside taxflow, but its negative "+
				"Anrok transaction %s still reduces the tax filed: void that transaction in Anrok, or issue the credit again.",
				cn.StripeCreditNoteID, orNone(cn.AnrokTransactionID))
			c.add(d)
		default:
			side = &StripeSide{Status: notes[i].Status, Tax: ptr(notes[i].Tax), Total: ptr(notes[i].Total)}
			if notes[i].Tax != cn.Tax {
				taxes = append(taxes, fmt.Sprintf("Stripe %d", notes[i].Tax))
			}
		}
	}
	var tx *AnrokTransaction
	if inv.AnrokAccount != "" && cn.AnrokTransactionID != "" {
		tx = c.anrokByID[anrokKey(inv.AnrokAccount, cn.AnrokTransactionID)]
		switch {
		case tx == nil:
			d := base
			d.Kind, d.Message = MissingInAnrok, fmt.Sprintf("Anrok has no transaction %s for credit note %s: the credited tax is "+
				"still declared. Record it again in Anrok under that id.", cn.AnrokTransactionID, cn.ID)
			c.add(d)
			tx = nil
		case tx.Type != anrokNormal:
			d := base
			d.Anrok = anrokSide(tx)
			d.Kind, d.Message = StatusMismatch, fmt.Sprintf("Anrok has the credit note's transaction %s void although the "+
				"credit note stands in Stripe: the credited tax is still declared. Record it again in Anrok.", tx.ID)
			c.add(d)
			tx = nil
		case taxDiffers(*tx, -cn.Tax):
			taxes = append(taxes, "Anrok "+anrokTaxText(*tx))
		}
	}
	if len(taxes) > 0 {
		d := base
		d.Stripe, d.Anrok = side, anrokSide(tx)
		d.Kind, d.Message = TaxMismatch, fmt.Sprintf("credit note %s credits tax %d in taxflow, %s (Anrok's is negative). "+
			"The side that differs was changed outside taxflow: correct it by hand to taxflow's figure.", cn.ID, cn.Tax, strings.Join(taxes, ", "))
		c.add(d)
	}
}

// unknowns reports the live objects that name invoices taxflow does not have at all.
func (c *comparison) unknowns(period map[string]bool) {
	knownID := func(id string) bool { return period[id] || c.o.known[id] }
	inPeriod := func(t time.Time) bool { return !t.Before(c.o.unknownFrom) && t.Before(c.o.unknownTo) }
	if c.o.unknownStripe {
		for _, id := range slices.Sorted(maps.Keys(c.o.stripe)) {
			s := c.o.stripe[id]
			if s.TaxflowInvoiceID == "" || !live(s.Status) || !s.Listed || knownID(s.TaxflowInvoiceID) || !inPeriod(s.Created) {
				continue
			}
			c.add(Difference{Kind: UnknownInStripe, InvoiceID: s.TaxflowInvoiceID, StripeInvoiceID: s.ID, Stripe: stripeSide(&s),
				Message: fmt.Sprintf("Stripe invoice %s (account %s) names taxflow invoice %s, which taxflow does not have. "+
					"If it was made by hand, void it in Stripe (delete it while a draft) and post the invoice to taxflow instead; "+
					"its tax is not filed in Anrok.", s.ID, s.Account, s.TaxflowInvoiceID)})
		}
	}
	if c.o.unknownAnrok {
		for i := range c.o.anrok {
			t := &c.o.anrok[i]
			if t.InvoiceID == "" || t.Type != anrokNormal || knownID(t.InvoiceID) || !inPeriod(t.Created) {
				continue
			}
			c.add(Difference{Kind: UnknownInAnrok, InvoiceID: t.InvoiceID, AnrokTransactionID: t.ID, Anrok: anrokSide(t),
				Message: fmt.Sprintf("Anrok transaction %s names taxflow invoice %s, which taxflow does not have: it files tax "+
					"nobody billed through taxflow. Void it in Anrok if it was recorded by mistake.", t.ID, t.InvoiceID)})
		}
	}
}
