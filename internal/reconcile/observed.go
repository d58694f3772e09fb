package reconcile

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing/stripebilling"
)

// Invoice is taxflow's record of one invoice of the period.
type Invoice struct {
	ID        string
	Currency  string
	Status    string
	TaxStatus string
	Subtotal  int64
	Tax       int64
	Total     int64
	// StripeAccountID is taxflow's Stripe account; StripeInvoiceID the Stripe invoice
	// ("" before the draft exists).
	StripeAccountID string
	StripeInvoiceID string
	// AnrokAccount names the Anrok account the invoice's connection belongs to (see
	// AnrokTransaction.Account); "" when its Anrok side was not read.
	AnrokAccount           string
	AnrokTransactionID     string
	AnrokTransactionStatus string
	ReceivedAt             time.Time
	CreditNotes            []CreditNote

	// anrokConnection is the invoice's Anrok connection, to find its account.
	anrokConnection string
}

// CreditNote is taxflow's record of a credit note.
type CreditNote struct {
	ID                 string
	Status             string // pending, issued, refused
	Tax                int64  // positive: the tax credited
	Total              int64
	StripeCreditNoteID string
	AnrokTransactionID string
}

// StripeInvoice is a Stripe invoice as read.
type StripeInvoice struct {
	stripebilling.InvoiceSummary
	// Account is the taxflow Stripe account it was read through.
	Account string
	// Listed: found by the period's listing (else read by id, for an invoice of the
	// period created outside the listing's window).
	Listed bool
}

// AnrokTransaction is an Anrok transaction as listed.
type AnrokTransaction struct {
	ID string
	// Account names the Anrok account it was listed in: the first, by id, of the taxflow
	// connections that share that account (same base URL and API key).
	Account string
	// Type is Anrok's: normal or void.
	Type     string
	Created  time.Time
	Currency string
	// InputAmount is the sum of the line amounts.
	InputAmount int64
	// Tax is the tax to collect: the sum of the lines' integer taxAmountToCollect when
	// TaxFromLines, else TaxExact rounded.
	Tax          int64
	TaxExact     decimal.Decimal
	TaxFromLines bool
	Lines        int
	// InvoiceID and Suffix are read from the id under one of the account's connection
	// prefixes ("taxflow:inv-1:cn-2" → inv-1, cn-2); InvoiceID is "" for a transaction that
	// is not taxflow's.
	InvoiceID string
	Suffix    string
}

type stripeCreditNote = stripebilling.CreditNoteSummary

// observed is everything a comparison looks at.
type observed struct {
	invoices []Invoice
	// stripe holds every Stripe invoice read, by id.
	stripe map[string]StripeInvoice
	// stripeCreditNotes holds the credit notes read, by Stripe invoice id (absent: not read).
	stripeCreditNotes map[string][]stripeCreditNote
	anrok             []AnrokTransaction
	// known holds the ids, among those the providers name, of invoices taxflow has outside
	// the period.
	known map[string]bool
	// windowFrom and windowTo bound the provider reads: Stripe invoices created, Anrok
	// transactions modified, from an hour before the period to Grace after it.
	windowFrom, windowTo time.Time
	// unknownStripe and unknownAnrok: report objects naming invoices taxflow does not have.
	unknownStripe bool
	unknownAnrok  bool
	// unknownFrom and unknownTo bound the creation time of the objects reported unknown
	// (the period itself: each is reported in the period it was created in).
	unknownFrom, unknownTo time.Time
}
