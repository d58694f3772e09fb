package activities

import (
	"context"
	"fmt"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// emit records an outgoing event about an invoice in the caller's transaction (the
// outbox: the event exists exactly when the change it announces committed). Its id is
// derived from the invoice, the type and what makes this occurrence unique, so an activity
// retried after its transaction committed does not announce twice.
func emit(ctx context.Context, q *sqldb.Queries, typ alerts.EventType, invoiceID, step, code, message string, extra map[string]any, occurrence ...string) error {
	inv, err := q.GetInvoice(ctx, invoiceID)
	if err != nil {
		return fmt.Errorf("emit %s: %w", typ, err)
	}
	key := append([]string{invoiceID, string(typ)}, occurrence...)
	return alerts.Emit(ctx, q, alerts.Event{
		ID: alerts.EventIDFor(key...), Type: typ, InvoiceID: invoiceID, CustomerID: inv.CustomerID,
		Step: step, Code: code, Message: message, Extra: extra,
	})
}

// failureEvents are the events a recorded failure announces.
func failureEvents(in FailureInput) []alerts.EventType {
	var out []alerts.EventType
	if !in.KeepStatus {
		out = append(out, alerts.InvoiceFailed)
	}
	switch in.Provider {
	case failure.ProviderAnrok:
		out = append(out, alerts.InvoiceTaxProviderError)
	case failure.ProviderStripe:
		out = append(out, alerts.InvoiceBillingProviderError)
	}
	if in.Code == invoicing.CodeTaxTimeout || in.Code == invoicing.CodeFinalizedWithoutTax {
		out = append(out, alerts.InvoiceTaxMissingAtDeadline)
	}
	return out
}
