package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/money"
)

// anrokPageSize is the largest page Anrok's transactions list gives.
const anrokPageSize = 20

// readAnrok lists the transactions of each Anrok account to read modified since the window
// began (Anrok filters on nothing else) and ties each invoice to the account of its
// connection.
func (r *Reconciler) readAnrok(ctx context.Context, p Params, o *observed, accounts map[string]*anrokAccount) error {
	var toRead []*anrokAccount
	want := func(connID string) {
		if g := accounts[connID]; g != nil && !slices.Contains(toRead, g) {
			toRead = append(toRead, g)
		}
	}
	switch {
	case p.AnrokConnectionID != "":
		want(p.AnrokConnectionID)
	case p.StripeAccountID != "":
		for _, inv := range o.invoices {
			want(inv.anrokConnection)
		}
	default:
		for _, id := range slices.Sorted(maps.Keys(accounts)) {
			want(id)
		}
	}
	for i := range o.invoices {
		if g := accounts[o.invoices[i].anrokConnection]; g != nil && slices.Contains(toRead, g) {
			o.invoices[i].AnrokAccount = g.name
		}
	}
	for _, g := range toRead {
		if err := r.listAnrok(ctx, o, g); err != nil {
			return err
		}
	}
	return nil
}

// listAnrok pages through one account's transactions; a failed page is asked again.
func (r *Reconciler) listAnrok(ctx context.Context, o *observed, g *anrokAccount) error {
	req := anrok.ListRequest{Filter: anrok.ModifiedAfter(o.windowFrom), Limit: anrokPageSize}
	seen := map[string]int{}
	for pages := 0; ; pages++ {
		var page *anrok.ListResponse
		err := r.read(ctx, func() error {
			var err error
			page, err = g.reader.ListTransactions(ctx, req)
			return err
		})
		if err != nil {
			return fmt.Errorf("list the transactions of the Anrok account of connection %s (page %d): %w", g.name, pages+1, err)
		}
		for _, t := range page.Transactions {
			tx := toTransaction(t, g)
			// A transaction changed while the list is read shows again, later, as it is now.
			if i, ok := seen[tx.ID]; ok {
				o.anrok[i] = tx
				continue
			}
			seen[tx.ID] = len(o.anrok)
			o.anrok = append(o.anrok, tx)
		}
		if !page.HasMore {
			return nil
		}
		req = anrok.ListRequest{Cursor: page.NextCursor, Limit: anrokPageSize}
	}
}

// toTransaction reads what the comparison needs from a listed transaction.
func toTransaction(t anrok.ListedTransaction, g *anrokAccount) AnrokTransaction {
	out := AnrokTransaction{ID: t.ID, Account: g.name, Type: t.Type, Created: t.AnrokCreatedTime}
	out.InvoiceID, out.Suffix = parseTransactionID(t.ID, g.prefixes)
	if b := t.Body; b != nil {
		out.Currency, out.InputAmount, out.TaxExact, out.Lines = b.CurrencyCode, b.InputAmount, b.TaxAmountDue.Total, len(b.LineItems)
		if sum, ok := collectedOfLines(b.LineItems); ok {
			out.Tax, out.TaxFromLines = sum, true
		} else {
			out.Tax = money.RoundHalfAway(out.TaxExact)
		}
	}
	return out
}

// collectedOfLines sums the lines' integer taxAmountToCollect, when every line has one (the
// reference Anrok documents does not pin the listed lines' shape).
func collectedOfLines(lines []json.RawMessage) (int64, bool) {
	var sum int64
	for _, raw := range lines {
		var line struct {
			TaxAmountToCollect *json.Number `json:"taxAmountToCollect"`
		}
		if json.Unmarshal(raw, &line) != nil || line.TaxAmountToCollect == nil {
			return 0, false
		}
		n, err := line.TaxAmountToCollect.Int64()
		if err != nil {
			return 0, false
		}
		sum += n
	}
	return sum, true
}
