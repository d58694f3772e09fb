package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/taxflow/taxflow/internal/reconcile"
)

// writeJSON prints the report as GET /v1/reconciliation answers it.
func writeJSON(w io.Writer, r reconcile.Report) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// writeTable prints the report for a person: one row per difference, what to do beside it.
func writeTable(w io.Writer, r reconcile.Report) error {
	fmt.Fprintf(w, "Invoices received from %s to %s", r.Period.From.Format(time.RFC3339), r.Period.To.Format(time.RFC3339))
	if r.Filters.StripeAccountID != "" {
		fmt.Fprintf(w, ", Stripe account %s", r.Filters.StripeAccountID)
	}
	if r.Filters.AnrokConnectionID != "" {
		fmt.Fprintf(w, ", Anrok connection %s", r.Filters.AnrokConnectionID)
	}
	fmt.Fprintf(w, "\nchecked %d invoices (%d in flight, not compared), %d Stripe invoices, %d Anrok transactions\n\n",
		r.Checked.Invoices, r.InFlight, r.Checked.StripeInvoices, r.Checked.AnrokTransactions)
	if len(r.Differences) == 0 {
		fmt.Fprintln(w, "No differences.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tINVOICE\tSTRIPE\tANROK\tWHAT TO DO")
		for _, d := range r.Differences {
			invoice := d.InvoiceID
			if d.CreditNoteID != "" {
				invoice += " (credit note " + d.CreditNoteID + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Kind, invoice, dash(d.StripeInvoiceID), dash(d.AnrokTransactionID), d.Message)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
		fmt.Fprintf(w, "\n%d differences.\n", len(r.Differences))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note: "+n)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
