package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// StripeEvent is a Stripe webhook event about the invoice, as the starter forwards it.
type StripeEvent struct {
	ID   string
	Type string
}

// What a Stripe event turned out to mean (StripeEventResult.Outcome).
const (
	OutcomeNone          = ""               // stale or not about anything taxflow mirrors
	OutcomeFinalized     = "finalized"      // finalized in Stripe
	OutcomePaid          = "paid"           // paid
	OutcomePaymentFailed = "payment_failed" // a payment attempt failed; still open
	OutcomeUncollectible = "uncollectible"  // marked uncollectible
	OutcomeVoided        = "voided"         // voided in Stripe (its Anrok transaction must follow)
	OutcomeDeleted       = "deleted"        // the draft was deleted in Stripe
)

// StripeEventResult is what the workflow does next.
type StripeEventResult struct {
	Outcome string
	// Mismatch: finalized in Stripe with another tax than Anrok's (leave_as_draft).
	Mismatch *FailureDetails `json:",omitempty"`
}

// ApplyStripeEvent mirrors a Stripe event onto the invoice. The event is only a hint:
// the invoice is read back from Stripe and its current state is what counts, so that a
// late, duplicated or forged-but-signed event cannot move the invoice backwards.
func (a *Activities) ApplyStripeEvent(ctx context.Context, in InvoiceRef, ev StripeEvent) (StripeEventResult, error) {
	res, err := a.applyStripeEvent(ctx, in, ev)
	return res, a.temporalError(err)
}

func (a *Activities) applyStripeEvent(ctx context.Context, in InvoiceRef, ev StripeEvent) (StripeEventResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return StripeEventResult{}, err
	}
	if b.Invoice.StripeInvoiceID == nil {
		return StripeEventResult{}, nil
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return StripeEventResult{}, err
	}
	inv, err := p.Get(ctx, *b.Invoice.StripeInvoiceID)
	if err != nil {
		return StripeEventResult{}, err
	}
	set := func(external string, status invoicing.Status) error {
		var st *string
		if status != "" {
			s := string(status)
			st = &s
		}
		return a.Store.InTx(ctx, func(q *sqldb.Queries) error {
			if err := q.SetExternalStatus(ctx, sqldb.SetExternalStatusParams{ID: in.InvoiceID, ExternalStatus: &external, Status: st}); err != nil {
				return err
			}
			switch external {
			case "PAID":
				return emit(ctx, q, alerts.InvoicePaid, in.InvoiceID, string(invoicing.StepWatch), "", "paid in Stripe", nil)
			case "VOID", "DELETED":
				return emit(ctx, q, alerts.InvoiceVoided, in.InvoiceID, string(invoicing.StepWatch), external, "voided or deleted in Stripe", nil)
			}
			return nil
		})
	}
	var res StripeEventResult
	switch {
	case inv.Status == "deleted":
		res.Outcome = OutcomeDeleted
		err = set("DELETED", invoicing.StatusVoid)
	case inv.Status == "void":
		res.Outcome = OutcomeVoided
		err = set("VOID", invoicing.StatusVoid)
	case inv.Status == "paid":
		res.Outcome = OutcomePaid
		err = set("PAID", invoicing.StatusPaid)
	case inv.Status == "uncollectible":
		res.Outcome = OutcomeUncollectible
		err = set("UNCOLLECTIBLE", invoicing.StatusUncollectible)
	case inv.Status == "open" && ev.Type == "invoice.payment_failed":
		res.Outcome = OutcomePaymentFailed
		err = set("PAYMENT_FAILED", "")
	case inv.Status == "open":
		res.Outcome = OutcomeFinalized
		if b.Invoice.StripeFinalizedAt == nil {
			// Finalized by a person in Stripe (leave_as_draft): record it, and check its tax
			// against Anrok's committed tax.
			res.Mismatch, err = a.recordStripeFinalization(ctx, b, inv.Tax, inv.Number, inv.FinalizedAt)
		} else if deref(b.Invoice.ExternalStatus) == "" {
			err = set("FINALIZED", "")
		}
	}
	if err != nil {
		return StripeEventResult{}, fmt.Errorf("record %s: %w", ev.Type, err)
	}
	a.logger(ctx).Info("stripe event applied", "event_id", ev.ID, "type", ev.Type, "stripe_status", inv.Status, "outcome", res.Outcome)
	return res, nil
}

func (a *Activities) recordStripeFinalization(ctx context.Context, b *invoiceBundle, stripeTax int64, number string, finalizedAt time.Time) (*FailureDetails, error) {
	if finalizedAt.IsZero() {
		finalizedAt = a.now()
	}
	if err := a.recordFinalized(ctx, b.Invoice.ID, number, finalizedAt); err != nil {
		return nil, err
	}
	committed, err := a.Store.GetTaxResult(ctx, sqldb.GetTaxResultParams{InvoiceID: b.Invoice.ID, Kind: "committed"})
	if store.IsNotFound(err) {
		return nil, nil // nothing committed (Stripe-computed tax): nothing to compare
	}
	if err != nil {
		return nil, err
	}
	if stripeTax != committed.TaxAmount {
		fe, _ := failure.As(mismatch(*b.Invoice.StripeInvoiceID, stripeTax, committed.TaxAmount, "finalized in Stripe: void or credit the invoice"))
		return &FailureDetails{Provider: fe.Provider, Class: string(fe.Class), Code: fe.Code, Message: fe.Message}, nil
	}
	return nil, nil
}

// SkipInvoice gives up an invoice under the Stripe account's skip_below_minimum: its
// total is under the currency's minimum charge, so nothing is sent — the draft is deleted
// and nothing is committed in Anrok.
func (a *Activities) SkipInvoice(ctx context.Context, in InvoiceRef) error {
	return a.temporalError(a.skipInvoice(ctx, in))
}

func (a *Activities) skipInvoice(ctx context.Context, in InvoiceRef) error {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return err
	}
	if b.Invoice.StripeInvoiceID != nil {
		p, err := a.stripeFor(b.StripeAccount)
		if err != nil {
			return err
		}
		if err := p.DeleteDraft(ctx, providerCall(ctx, in), *b.Invoice.StripeInvoiceID); err != nil {
			return err
		}
	}
	return a.Store.SetInvoiceSkipped(ctx, in.InvoiceID)
}
