package activities

import (
	"context"
	"fmt"

	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// FailedPage is a page of failed invoices.
type FailedPage struct {
	InvoiceIDs []string
	// Next is the cursor of the next page ("" at the end).
	Next string
}

// ListFailedInvoices lists invoices with an error no retry has resolved, after the cursor.
func (a *Activities) ListFailedInvoices(ctx context.Context, after string, limit int32) (FailedPage, error) {
	ids, err := a.Store.ListInvoicesWithOpenErrors(ctx, sqldb.ListInvoicesWithOpenErrorsParams{After: after, MaxRows: limit})
	if err != nil {
		return FailedPage{}, err
	}
	page := FailedPage{InvoiceIDs: ids}
	if len(ids) == int(limit) {
		page.Next = ids[len(ids)-1]
	}
	return page, nil
}

// RetryInvoices sends each invoice's workflow a retry; it returns how many were reached.
func (a *Activities) RetryInvoices(ctx context.Context, ids []string, reason string) (int, error) {
	if a.SignalInvoice == nil {
		return 0, fmt.Errorf("activities: no invoice signaler wired")
	}
	n := 0
	for _, id := range ids {
		if err := a.SignalInvoice(ctx, id, "retry", map[string]string{"reason": reason}); err != nil {
			a.logger(ctx).Warn("bulk retry could not reach an invoice", "invoice_id", id, "error", err)
			continue
		}
		n++
	}
	return n, nil
}

// CountStillFailed counts the invoices among ids that still have an unresolved error.
func (a *Activities) CountStillFailed(ctx context.Context, ids []string) (int, error) {
	n, err := a.Store.CountInvoicesWithOpenErrors(ctx, ids)
	return int(n), err
}
