package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/billing/stripebilling"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/stripesim"
)

// expectation is what the run knows of an invoice it posted.
type expectation struct {
	ID      string
	LineIDs []string // nil for the demo's invoices: their lines are not checked
	// Taxable: the invoice must carry tax (every chaos invoice does).
	Taxable bool
}

// transactionPrefix is the demo Anrok connection's prefix: the invoice's transaction is
// the prefix and its id.
const transactionPrefix = demo.TransactionPrefix

// verify checks the outcome against the simulators' own state, and taxflow's list for the
// status of each invoice: every invoice posted is known to taxflow and final (finalized,
// or failed with a code); a finalized one has exactly one Stripe invoice, finalized, with
// each of its lines once, and exactly one committed Anrok transaction, whose tax equals the
// Stripe invoice's and taxflow's; nothing in either simulator belongs to no invoice; and
// the invoice's workflow still runs (watching, or waiting for a retry).
func verify(ctx context.Context, api *apiClient, sims *simulators, wf *workflowInspector, want []expectation, got map[string]invoiceSummary, sum *Summary) {
	violate := func(kind *int, format string, args ...any) {
		if kind != nil {
			*kind++
		}
		sum.Violations = append(sum.Violations, fmt.Sprintf(format, args...))
	}
	stripeByInvoice := map[string][]stripesim.Invoice{}
	for _, inv := range sims.stripe.Invoices() {
		sum.StripeInvoices++
		stripeByInvoice[inv.Metadata[stripebilling.MetadataInvoiceID]] = append(stripeByInvoice[inv.Metadata[stripebilling.MetadataInvoiceID]], inv)
	}
	anrok := map[string]anroksim.Transaction{}
	for _, tx := range sims.anrok.Transactions() {
		sum.AnrokTransactions++
		anrok[tx.ID] = tx
	}
	posted := map[string]bool{}
	sum.FailedByCode = map[string]int{}
	for _, w := range want {
		posted[w.ID] = true
		inv, ok := got[w.ID]
		stripeInvs := stripeByInvoice[w.ID]
		tx, hasTx := anrok[transactionPrefix+w.ID]
		if len(stripeInvs) > 1 {
			violate(&sum.Duplicates, "duplicate: %s has %d Stripe invoices (%s)", w.ID, len(stripeInvs), stripeIDs(stripeInvs))
		}
		switch {
		case !ok:
			violate(&sum.Lost, "lost: %s was posted but taxflow does not know it", w.ID)
		case inv.Status == "finalized":
			sum.Finalized++
			checkFinalized(w, inv, stripeInvs, tx, hasTx, sum, violate)
			if detail, err := api.getInvoice(ctx, w.ID); err != nil {
				violate(nil, "unreadable: %s: %v", w.ID, err)
			} else if len(stripeInvs) == 1 && hasTx {
				checkRecords(w.ID, detail, stripeInvs[0], tx, sum, violate)
			}
		case inv.Status == "failed":
			detail, err := api.getInvoice(ctx, w.ID)
			code, msg := detail.openError()
			switch {
			case err != nil:
				violate(nil, "failed: %s: its errors cannot be read: %v", w.ID, err)
			case code == "":
				violate(nil, "failed without a reason: %s has no open error", w.ID)
			default:
				sum.FailedByCode[code]++
				sum.Failures = append(sum.Failures, fmt.Sprintf("%s: %s: %s", w.ID, code, msg))
			}
		default:
			violate(&sum.Stuck, "stuck: %s is %s at step %s (%s)", w.ID, inv.Status, inv.Step, wf.explain(ctx, w.ID))
		}
		if ok && isFinal(inv) {
			if problem := wf.check(ctx, w.ID); problem != "" {
				violate(&sum.Lost, "lost: %s is %s but %s", w.ID, inv.Status, problem)
			}
		}
	}
	for id, invs := range stripeByInvoice {
		if !posted[id] {
			violate(&sum.Duplicates, "orphan: Stripe invoices %s name taxflow invoice %q, which was never posted", stripeIDs(invs), id)
		}
	}
	for id := range anrok {
		invoiceID, ok := strings.CutPrefix(id, transactionPrefix)
		if !ok || !posted[invoiceID] {
			violate(&sum.Duplicates, "orphan: Anrok transaction %q belongs to no posted invoice", id)
		}
	}
	sort.Strings(sum.Failures)
}

// checkFinalized checks one finalized invoice in both simulators.
func checkFinalized(w expectation, inv invoiceSummary, stripeInvs []stripesim.Invoice, tx anroksim.Transaction, hasTx bool, sum *Summary, violate func(*int, string, ...any)) {
	if len(stripeInvs) == 0 {
		violate(&sum.Lost, "lost: %s is finalized in taxflow but Stripe has no invoice for it", w.ID)
	}
	if !hasTx {
		violate(&sum.Lost, "lost: %s is finalized in taxflow but Anrok has no transaction %s", w.ID, transactionPrefix+w.ID)
	} else if tx.Status != anroksim.StatusCommitted {
		violate(&sum.Lost, "lost: %s is finalized but its Anrok transaction is %s", w.ID, tx.Status)
	}
	if len(stripeInvs) != 1 {
		return
	}
	si := stripeInvs[0]
	if si.Status != "open" && si.Status != "paid" {
		violate(&sum.Lost, "lost: %s is finalized in taxflow but its Stripe invoice %s is %s", w.ID, si.ID, si.Status)
	}
	if w.LineIDs != nil {
		seen := map[string]int{}
		for _, l := range si.Lines {
			seen[l.Metadata[stripebilling.MetadataLineID]]++
		}
		for _, id := range w.LineIDs {
			if seen[id] != 1 {
				violate(&sum.Duplicates, "duplicate: %s: Stripe invoice %s has line %s %d times", w.ID, si.ID, id, seen[id])
			}
		}
		if len(si.Lines) != len(w.LineIDs) {
			violate(&sum.Duplicates, "duplicate: %s: Stripe invoice %s has %d lines for %d", w.ID, si.ID, len(si.Lines), len(w.LineIDs))
		}
	}
	if hasTx && (si.TotalTax != tx.TaxAmountToCollect || inv.Tax != tx.TaxAmountToCollect) {
		violate(&sum.TaxMismatches, "tax mismatch: %s: Stripe %d, Anrok %d, taxflow %d", w.ID, si.TotalTax, tx.TaxAmountToCollect, inv.Tax)
	}
	if w.Taxable && hasTx && tx.TaxAmountToCollect <= 0 {
		violate(&sum.TaxMismatches, "no tax: %s is taxable but Anrok's tax is %d", w.ID, tx.TaxAmountToCollect)
	}
}

// checkRecords checks that what taxflow recorded of the Stripe invoice and the Anrok
// transaction is what the simulators hold: the ids, the Stripe number, and the version
// Anrok is at — a later void names it (expected version), so a stale one would fail.
func checkRecords(id string, d invoiceDetail, si stripesim.Invoice, tx anroksim.Transaction, sum *Summary, violate func(*int, string, ...any)) {
	switch {
	case d.ExternalInvoice == nil || d.ExternalInvoice.InvoiceID != si.ID:
		violate(&sum.RecordMismatches, "record: %s: taxflow's Stripe invoice is not %s", id, si.ID)
	case d.ExternalInvoice.Number == nil || *d.ExternalInvoice.Number != si.Number:
		violate(&sum.RecordMismatches, "record: %s: taxflow's Stripe invoice number is not %q", id, si.Number)
	}
	switch {
	case d.AnrokTransaction == nil || d.AnrokTransaction.ID != tx.ID:
		violate(&sum.RecordMismatches, "record: %s: taxflow's Anrok transaction is not %s", id, tx.ID)
	case d.AnrokTransaction.Version == nil || *d.AnrokTransaction.Version != tx.Version:
		got := "none"
		if d.AnrokTransaction.Version != nil {
			got = fmt.Sprint(*d.AnrokTransaction.Version)
		}
		violate(&sum.RecordMismatches, "record: %s: taxflow recorded version %s of Anrok transaction %s, which is at version %d", id, got, tx.ID, tx.Version)
	}
}

func stripeIDs(invs []stripesim.Invoice) string {
	ids := make([]string, 0, len(invs))
	for _, inv := range invs {
		s := inv.ID + " " + inv.Status
		if inv.Deleted {
			s += " (deleted)"
		}
		ids = append(ids, s)
	}
	return strings.Join(ids, ", ")
}
