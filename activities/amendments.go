package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// InvoiceState is an invoice's state as Postgres holds it: what a continuing or restarted
// workflow starts from.
type InvoiceState struct {
	Status          string
	TaxStatus       string
	ExternalStatus  string
	StripeInvoiceID string
	Tax             int64
	Total           int64
	TaxMode         string
	LeaveAsDraft    bool
	CustomerID      string
	StripeAccountID string
}

// LoadInvoiceState reads the invoice's state.
func (a *Activities) LoadInvoiceState(ctx context.Context, in InvoiceRef) (InvoiceState, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return InvoiceState{}, a.temporalError(err)
	}
	inv := b.Invoice
	return InvoiceState{
		Status: inv.Status, TaxStatus: inv.TaxStatus, ExternalStatus: deref(inv.ExternalStatus),
		StripeInvoiceID: deref(inv.StripeInvoiceID), Tax: inv.Tax, Total: inv.Total,
		TaxMode: b.Settings.TaxMode, LeaveAsDraft: b.Settings.LeaveAsDraft,
		CustomerID: inv.CustomerID, StripeAccountID: inv.StripeAccountID,
	}, nil
}

// Dispute reports a dispute of the invoice's payment.
type Dispute struct {
	Status    string // opened, won, lost
	DisputeID string
}

// DisputeResult says what a dispute did to the tax.
type DisputeResult struct {
	// TaxStatus is "negated" when a lost dispute negated the transaction ("" unchanged).
	TaxStatus string
}

// DisputeTransactionID is the id of the negation recorded for a lost dispute.
func DisputeTransactionID(transactionID string) string { return transactionID + ":dispute" }

// ApplyDispute records a dispute. An opened or won dispute changes nothing in Anrok; a
// lost one negates the invoice's transaction (the money is gone, so is the tax on it) —
// what Lago never sends.
func (a *Activities) ApplyDispute(ctx context.Context, in InvoiceRef, d Dispute) (DisputeResult, error) {
	res, err := a.applyDispute(ctx, in, d)
	return res, a.temporalError(err)
}

func (a *Activities) applyDispute(ctx context.Context, in InvoiceRef, d Dispute) (DisputeResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return DisputeResult{}, err
	}
	var disputeID *string
	if d.DisputeID != "" {
		disputeID = &d.DisputeID
	}
	if err := a.Store.SetDispute(ctx, sqldb.SetDisputeParams{ID: in.InvoiceID, DisputeStatus: &d.Status, DisputeID: disputeID}); err != nil {
		return DisputeResult{}, err
	}
	if d.Status != "lost" || b.Invoice.AnrokTransactionID == nil || deref(b.Invoice.AnrokTransactionStatus) != "committed" {
		return DisputeResult{}, nil
	}
	if b.Anrok == nil {
		return DisputeResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAnrokConnectionMissing, "the invoice's Anrok connection is gone: create it again, then retry")
	}
	engine, err := a.taxEngineFor(*b.Anrok)
	if err != nil {
		return DisputeResult{}, err
	}
	txID := *b.Invoice.AnrokTransactionID
	version := int64(0)
	if b.Invoice.AnrokTransactionVersion != nil {
		version = *b.Invoice.AnrokTransactionVersion
	}
	if err := engine.Negate(ctx, txID, DisputeTransactionID(txID), version); err != nil && !errors.Is(err, tax.ErrDuplicateTransaction) {
		return DisputeResult{}, err
	}
	st := string(invoicing.TaxNegated)
	err = a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if err := q.SetAnrokTransactionStatus(ctx, sqldb.SetAnrokTransactionStatusParams{ID: in.InvoiceID, AnrokTransactionStatus: &st, TaxStatus: st}); err != nil {
			return err
		}
		return emit(ctx, q, alerts.InvoiceDisputeLost, in.InvoiceID, string(invoicing.StepWatch), "", "dispute lost: the Anrok transaction is negated",
			map[string]any{"dispute_id": d.DisputeID, "negation_transaction_id": DisputeTransactionID(txID)})
	})
	if err != nil {
		return DisputeResult{}, err
	}
	a.logger(ctx).Info("lost dispute negated in Anrok", "transaction_id", txID)
	return DisputeResult{TaxStatus: st}, nil
}

// CreditNoteResult is an issued credit note.
type CreditNoteResult struct {
	StripeCreditNoteID string
	Tax                int64
	Total              int64
	Refused            bool
}

// CreditNoteTransactionID is the Anrok transaction of a credit note: its own id, derived
// from the invoice's transaction and the credit note's id.
func CreditNoteTransactionID(transactionID, creditNoteID string) string {
	return transactionID + ":cn-" + creditNoteID
}

// IssueCreditNote issues a credit note stored by the API: a negative Anrok transaction of
// its own (anrok_api; Anrok answers the tax to credit), then a Stripe credit note whose tax
// lines carry exactly that tax on the invoice's own tax rates — so Stripe and Anrok agree
// on every credit note. With the Anrok Stripe app, Stripe credits the invoice's tax in
// proportion and the app records it in Anrok.
func (a *Activities) IssueCreditNote(ctx context.Context, in InvoiceRef, creditNoteID string) (CreditNoteResult, error) {
	res, err := a.issueCreditNote(ctx, in, creditNoteID)
	return res, a.temporalError(err)
}

func (a *Activities) issueCreditNote(ctx context.Context, in InvoiceRef, creditNoteID string) (CreditNoteResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return CreditNoteResult{}, err
	}
	q := a.Store.Queries
	cn, err := q.GetCreditNote(ctx, sqldb.GetCreditNoteParams{InvoiceID: in.InvoiceID, ID: creditNoteID})
	if store.IsNotFound(err) {
		return CreditNoteResult{Refused: true}, nil
	} else if err != nil {
		return CreditNoteResult{}, err
	}
	switch cn.Status {
	case "issued":
		return CreditNoteResult{StripeCreditNoteID: deref(cn.StripeCreditNoteID), Tax: cn.Tax, Total: cn.Total}, nil
	case "refused":
		return CreditNoteResult{Refused: true}, nil
	}
	refuse := func(code, msg string) (CreditNoteResult, error) {
		err := q.SetCreditNoteRefused(ctx, sqldb.SetCreditNoteRefusedParams{InvoiceID: in.InvoiceID, ID: creditNoteID, ErrorCode: &code, ErrorMessage: &msg})
		return CreditNoteResult{Refused: true}, err
	}
	switch invoicing.Status(b.Invoice.Status) {
	case invoicing.StatusFinalized, invoicing.StatusPaid, invoicing.StatusUncollectible:
	default:
		return refuse("invoice_not_creditable", fmt.Sprintf("invoice %s is %s: only a finalized invoice can be credited", in.InvoiceID, b.Invoice.Status))
	}
	lines, err := q.ListCreditNoteLines(ctx, sqldb.ListCreditNoteLinesParams{InvoiceID: in.InvoiceID, CreditNoteID: creditNoteID})
	if err != nil {
		return CreditNoteResult{}, err
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return CreditNoteResult{}, err
	}
	call := providerCall(ctx, in)
	stripeInv, err := p.Get(ctx, *b.Invoice.StripeInvoiceID)
	if err != nil {
		return CreditNoteResult{}, err
	}
	// Which Stripe line each taxflow line was billed on (one line when collapsed).
	stripeLineOf := map[string]billing.InvoiceLine{}
	var collapsed, collapsedInclusive billing.InvoiceLine
	for _, sl := range stripeInv.Lines {
		stripeLineOf[sl.LineID] = sl
		switch sl.LineID {
		case invoicing.CollapsedLineID:
			collapsed = sl
		case invoicing.CollapsedInclusiveLineID:
			collapsedInclusive = sl
		}
	}
	invLines := map[string]sqldb.InvoiceLine{}
	for _, l := range b.Lines {
		invLines[l.ID] = l
	}
	target := func(lineID string) (billing.InvoiceLine, bool) {
		if sl, ok := stripeLineOf[lineID]; ok {
			return sl, true
		}
		if invLines[lineID].TaxInclusive && collapsedInclusive.ID != "" {
			return collapsedInclusive, true
		}
		return collapsed, collapsed.ID != ""
	}

	var creditTax int64
	breakdownOf := map[string][]tax.BreakdownEntry{}
	txID := ""
	if b.Settings.TaxMode != invoicing.TaxModeStripeApp {
		if b.Anrok == nil || b.Invoice.AnrokTransactionID == nil {
			return refuse("tax_not_committed", "the invoice has no committed Anrok transaction to credit")
		}
		engine, err := a.taxEngineFor(*b.Anrok)
		if err != nil {
			return CreditNoteResult{}, err
		}
		req, err := a.taxRequest(b)
		if err != nil {
			return CreditNoteResult{}, err
		}
		products := map[string]string{}
		for _, l := range req.Lines {
			products[l.ID] = l.ProductCode
		}
		req.Lines = nil
		for _, l := range lines {
			req.Lines = append(req.Lines, tax.Line{ID: l.LineID, ProductCode: products[l.LineID], Amount: -l.Amount, TaxIncluded: invLines[l.LineID].TaxInclusive})
		}
		txID = CreditNoteTransactionID(*b.Invoice.AnrokTransactionID, creditNoteID)
		req.TransactionID = txID
		req.AccountingTime = a.now()
		req.TaxDate = invoicing.TaxDate(req.AccountingTime, a.now())
		res, err := engine.Commit(ctx, req)
		if err != nil {
			return CreditNoteResult{}, err
		}
		if err := res.Allocate(); err != nil {
			return CreditNoteResult{}, failure.NeedsPersonError(failure.ProviderAnrok, "tax_answer_unusable", err.Error())
		}
		creditTax = -res.Tax
		for _, lr := range res.Lines {
			breakdownOf[lr.LineID] = lr.Breakdown
		}
		if err := q.SetCreditNoteAnrok(ctx, sqldb.SetCreditNoteAnrokParams{InvoiceID: in.InvoiceID, ID: creditNoteID, AnrokTransactionID: &txID, Tax: creditTax}); err != nil {
			return CreditNoteResult{}, err
		}
	}

	// Stripe lines of the credit note: one per invoice line credited (merged per Stripe line
	// when the invoice was collapsed), with Anrok's tax on the invoice line's tax rates.
	rates := map[string]billing.TaxRate{}
	rateOf := func(sl billing.InvoiceLine, jurisdiction string) (string, error) {
		for _, d := range sl.TaxDetails {
			if d.TaxRateID == "" {
				continue
			}
			r, ok := rates[d.TaxRateID]
			if !ok {
				if r, err = p.TaxRate(ctx, d.TaxRateID); err != nil {
					return "", err
				}
				rates[d.TaxRateID] = r
			}
			if r.Jurisdiction == jurisdiction {
				return r.ID, nil
			}
		}
		return "", nil
	}
	byStripeLine := map[string]*billing.CreditNoteLine{}
	var order []string
	lineTaxes := map[string]int64{}
	for _, l := range lines {
		sl, ok := target(l.LineID)
		if !ok {
			return refuse("line_not_in_stripe", fmt.Sprintf("line %s is not on the Stripe invoice", l.LineID))
		}
		cl, ok := byStripeLine[sl.ID]
		if !ok {
			cl = &billing.CreditNoteLine{InvoiceLineID: sl.ID}
			byStripeLine[sl.ID] = cl
			order = append(order, sl.ID)
		}
		cl.Amount += l.Amount
		for _, e := range breakdownOf[l.LineID] {
			if e.Billed == 0 {
				continue
			}
			rateID, err := rateOf(sl, e.Jurisdiction)
			if err != nil {
				return CreditNoteResult{}, err
			}
			if rateID == "" {
				return CreditNoteResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, "credit_note_tax_rate_missing",
					fmt.Sprintf("Anrok taxes the credit of line %s in %q, which the Stripe invoice line does not: credit it by hand in Stripe", l.LineID, e.Jurisdiction))
			}
			merged := false
			for i := range cl.Taxes {
				if cl.Taxes[i].TaxRateID == rateID {
					cl.Taxes[i].Amount += -e.Billed
					cl.Taxes[i].TaxableAmount += l.Amount
					merged = true
				}
			}
			if !merged {
				cl.Taxes = append(cl.Taxes, billing.CreditNoteTax{Amount: -e.Billed, TaxableAmount: l.Amount, TaxRateID: rateID})
			}
			lineTaxes[l.LineID] += -e.Billed
		}
	}
	note := billing.CreditNote{Reason: deref(cn.Reason), Memo: deref(cn.Memo), Paid: stripeInv.Status == "paid"}
	for _, id := range order {
		note.Lines = append(note.Lines, *byStripeLine[id])
	}
	issued, err := p.CreateCreditNote(ctx, call, *b.Invoice.StripeInvoiceID, creditNoteID, note)
	if err != nil {
		return CreditNoteResult{}, err
	}
	if txID != "" && issued.Tax != creditTax {
		return CreditNoteResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeTaxMismatch,
			fmt.Sprintf("Stripe credit note %s carries tax %d but Anrok recorded %d for credit note %s", issued.ID, issued.Tax, creditTax, creditNoteID))
	}
	ids := make([]string, 0, len(lines))
	taxes := make([]int64, 0, len(lines))
	for _, l := range lines {
		ids = append(ids, l.LineID)
		taxes = append(taxes, lineTaxes[l.LineID])
	}
	now := a.now()
	var anrokID *string
	if txID != "" {
		anrokID = &txID
	}
	err = a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if err := q.SetCreditNoteLineTaxes(ctx, sqldb.SetCreditNoteLineTaxesParams{InvoiceID: in.InvoiceID, CreditNoteID: creditNoteID, LineIds: ids, Taxes: taxes}); err != nil {
			return err
		}
		if err := q.SetCreditNoteIssued(ctx, sqldb.SetCreditNoteIssuedParams{InvoiceID: in.InvoiceID, ID: creditNoteID, Tax: issued.Tax,
			StripeCreditNoteID: &issued.ID, AnrokTransactionID: anrokID, IssuedAt: &now}); err != nil {
			return err
		}
		return emit(ctx, q, alerts.CreditNoteCreated, in.InvoiceID, string(invoicing.StepWatch), "", "credit note issued",
			map[string]any{"credit_note_id": creditNoteID, "stripe_credit_note_id": issued.ID, "anrok_transaction_id": txID, "tax": issued.Tax, "total": issued.Total},
			creditNoteID)
	})
	if err != nil {
		return CreditNoteResult{}, err
	}
	return CreditNoteResult{StripeCreditNoteID: issued.ID, Tax: issued.Tax, Total: issued.Total}, nil
}

// DisputeEventInput is a Stripe dispute event to forward to its invoice.
type DisputeEventInput struct {
	StripeAccountID string
	EventID         string
	EventType       string // charge.dispute.created or charge.dispute.closed
	DisputeID       string
}

// InvoiceSignaler signals an invoice's workflow, starting it from its state in Postgres when
// it has ended (signal-with-start). The wiring provides it (activities cannot import the
// workflows package).
type InvoiceSignaler func(ctx context.Context, invoiceID, signal string, arg any) error

// ForwardDispute finds the invoice of a Stripe dispute and signals its workflow: opened
// when created, then won or lost when closed. It returns the invoice id ("" when the
// dispute is about nothing taxflow invoiced).
func (a *Activities) ForwardDispute(ctx context.Context, in DisputeEventInput) (string, error) {
	id, err := a.forwardDispute(ctx, in)
	return id, a.temporalError(err)
}

func (a *Activities) forwardDispute(ctx context.Context, in DisputeEventInput) (string, error) {
	acct, err := a.Store.GetStripeAccount(ctx, in.StripeAccountID)
	if err != nil {
		if store.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	p, err := a.stripeFor(acct)
	if err != nil {
		return "", err
	}
	ext, status, err := p.DisputedInvoice(ctx, in.DisputeID)
	if err != nil || ext == "" {
		return "", err
	}
	inv, err := a.Store.GetInvoiceByStripeID(ctx, &ext)
	if store.IsNotFound(err) || (err == nil && inv.StripeAccountID != in.StripeAccountID) {
		a.logger(ctx).Info("dispute about an invoice taxflow does not know", "dispute_id", in.DisputeID, "stripe_invoice_id", ext)
		return "", nil
	}
	if err != nil {
		return "", err
	}
	disputeStatus := "opened"
	if in.EventType == "charge.dispute.closed" {
		switch status {
		case "lost":
			disputeStatus = "lost"
		default:
			// won, warning_closed: the money stayed; nothing changes in Anrok.
			disputeStatus = "won"
		}
	}
	if a.SignalInvoice == nil {
		return "", errors.New("activities: no invoice signaler wired")
	}
	return inv.ID, a.SignalInvoice(ctx, inv.ID, "dispute", map[string]string{"status": disputeStatus, "dispute_id": in.DisputeID})
}
