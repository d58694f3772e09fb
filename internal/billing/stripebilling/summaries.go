package stripebilling

import (
	"context"
	"errors"
	"iter"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// InvoiceSummary is a Stripe invoice as a reconciliation compares it: its state, its amounts
// and the taxflow invoice its metadata names. Reads only; nothing here changes Stripe.
type InvoiceSummary struct {
	ID     string
	Number string
	// Status is draft, open, paid, void or uncollectible; StatusDeleted for an invoice
	// Stripe no longer has (a deleted draft).
	Status   string
	Currency string
	// TaxflowInvoiceID is metadata taxflow_invoice_id ("" when the invoice is not taxflow's).
	TaxflowInvoiceID string
	Subtotal         int64
	// Tax is every tax amount on the invoice, inclusive and exclusive.
	Tax     int64
	Total   int64
	Created time.Time
}

// InvoicesCreated lists the account's invoices created in [from, to], newest first as Stripe
// lists them (deleted drafts never appear), starting after the invoice id after ("" for the
// start): a caller whose listing failed part way resumes after the last invoice it got.
func (p *Provider) InvoicesCreated(ctx context.Context, from, to time.Time, after string) iter.Seq2[InvoiceSummary, error] {
	return func(yield func(InvoiceSummary, error) bool) {
		lp := &stripe.InvoiceListParams{CreatedRange: &stripe.RangeQueryParams{
			GreaterThanOrEqual: from.Unix(), LesserThanOrEqual: to.Unix(),
		}}
		lp.Limit = stripe.Int64(100)
		if after != "" {
			lp.StartingAfter = stripe.String(after)
		}
		lp.Context = ctx
		for inv, err := range p.sc.V1Invoices.List(ctx, lp) {
			if err != nil {
				yield(InvoiceSummary{}, classify("list invoices", err))
				return
			}
			if !yield(summarize(inv), nil) {
				return
			}
		}
	}
}

// InvoiceSummary reads one invoice; one Stripe does not have reads as StatusDeleted.
func (p *Provider) InvoiceSummary(ctx context.Context, id string) (InvoiceSummary, error) {
	params := &stripe.InvoiceRetrieveParams{}
	params.Context = ctx
	inv, err := p.sc.V1Invoices.Retrieve(ctx, id, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == 404 && se.Code == stripe.ErrorCodeResourceMissing {
			return InvoiceSummary{ID: id, Status: StatusDeleted}, nil
		}
		return InvoiceSummary{}, classify("read invoice", err)
	}
	if inv.Deleted {
		return InvoiceSummary{ID: id, Status: StatusDeleted}, nil
	}
	return summarize(inv), nil
}

func summarize(inv *stripe.Invoice) InvoiceSummary {
	out := InvoiceSummary{
		ID: inv.ID, Number: inv.Number, Status: string(inv.Status), Currency: string(inv.Currency),
		TaxflowInvoiceID: inv.Metadata[MetadataInvoiceID], Subtotal: inv.Subtotal, Total: inv.Total,
		Created: time.Unix(inv.Created, 0).UTC(),
	}
	for _, t := range inv.TotalTaxes {
		out.Tax += t.Amount
	}
	return out
}

// CreditNoteSummary is a Stripe credit note as a reconciliation compares it.
type CreditNoteSummary struct {
	ID string
	// Status is issued or void.
	Status string
	// TaxflowCreditNoteID is metadata taxflow_credit_note_id ("" when not taxflow's).
	TaxflowCreditNoteID string
	Tax                 int64
	Total               int64
}

// CreditNotesOf lists the credit notes of one invoice.
func (p *Provider) CreditNotesOf(ctx context.Context, invoiceID string) ([]CreditNoteSummary, error) {
	lp := &stripe.CreditNoteListParams{Invoice: stripe.String(invoiceID)}
	lp.Limit = stripe.Int64(100)
	lp.Context = ctx
	var out []CreditNoteSummary
	for note, err := range p.sc.V1CreditNotes.List(ctx, lp) {
		if err != nil {
			return nil, classify("list credit notes", err)
		}
		cn := CreditNoteSummary{ID: note.ID, Status: string(note.Status), TaxflowCreditNoteID: note.Metadata[MetadataCreditNoteID], Total: note.Total}
		for _, t := range note.TotalTaxes {
			cn.Tax += t.Amount
		}
		out = append(out, cn)
	}
	return out, nil
}
