package reconcile

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// Kind names a difference between taxflow, Stripe and Anrok.
type Kind string

// The kinds of difference. Each Difference's message says what to do about it.
const (
	// MissingInStripe: taxflow has a Stripe invoice (or credit note) Stripe does not have.
	MissingInStripe Kind = "missing_in_stripe"
	// MissingInAnrok: taxflow committed an Anrok transaction Anrok does not have.
	MissingInAnrok Kind = "missing_in_anrok"
	// UnknownInStripe: a live Stripe invoice (or credit note) names in metadata a taxflow
	// invoice (or credit note) taxflow does not have.
	UnknownInStripe Kind = "unknown_in_stripe"
	// UnknownInAnrok: a live Anrok transaction's id names a taxflow invoice (or credit note)
	// taxflow does not have.
	UnknownInAnrok Kind = "unknown_in_anrok"
	// DuplicateInStripe: more than one live Stripe invoice for one taxflow invoice.
	DuplicateInStripe Kind = "duplicate_in_stripe"
	// DuplicateInAnrok: more than one live Anrok transaction for one taxflow invoice.
	DuplicateInAnrok Kind = "duplicate_in_anrok"
	// AmountMismatch: subtotal, total or currency differ.
	AmountMismatch Kind = "amount_mismatch"
	// TaxMismatch: the tax differs between taxflow, Stripe and Anrok.
	TaxMismatch Kind = "tax_mismatch"
	// StatusMismatch: the systems disagree on whether the invoice stands, is paid or void.
	StatusMismatch Kind = "status_mismatch"
)

// Kinds lists every kind, in the order a report explains them.
var Kinds = []Kind{MissingInStripe, MissingInAnrok, UnknownInStripe, UnknownInAnrok, DuplicateInStripe,
	DuplicateInAnrok, AmountMismatch, TaxMismatch, StatusMismatch}

// Difference is one thing the three systems disagree on. Money is in the currency's
// smallest unit.
type Difference struct {
	Kind      Kind   `json:"kind"`
	InvoiceID string `json:"invoice_id"`
	// CreditNoteID is set when the difference is about one of the invoice's credit notes.
	CreditNoteID       string `json:"credit_note_id,omitempty"`
	StripeInvoiceID    string `json:"stripe_invoice_id"`
	AnrokTransactionID string `json:"anrok_transaction_id"`
	// Each side as it stands; nil when that system has nothing for the invoice.
	Taxflow *TaxflowSide `json:"taxflow"`
	Stripe  *StripeSide  `json:"stripe"`
	Anrok   *AnrokSide   `json:"anrok"`
	// Message says what differs and what to do.
	Message string `json:"message"`
}

// MarshalJSON writes ids that do not apply as null rather than "".
func (d Difference) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind               Kind         `json:"kind"`
		InvoiceID          string       `json:"invoice_id"`
		CreditNoteID       string       `json:"credit_note_id,omitempty"`
		StripeInvoiceID    *string      `json:"stripe_invoice_id"`
		AnrokTransactionID *string      `json:"anrok_transaction_id"`
		Taxflow            *TaxflowSide `json:"taxflow"`
		Stripe             *StripeSide  `json:"stripe"`
		Anrok              *AnrokSide   `json:"anrok"`
		Message            string       `json:"message"`
	}{d.Kind, d.InvoiceID, d.CreditNoteID, orNull(d.StripeInvoiceID), orNull(d.AnrokTransactionID), d.Taxflow, d.Stripe, d.Anrok, d.Message})
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TaxflowSide is taxflow's record: an invoice's, or a credit note's.
type TaxflowSide struct {
	Status    string `json:"status"`
	TaxStatus string `json:"tax_status,omitempty"`
	Currency  string `json:"currency,omitempty"`
	Subtotal  *int64 `json:"subtotal,omitempty"`
	Tax       *int64 `json:"tax,omitempty"`
	Total     *int64 `json:"total,omitempty"`
}

// StripeSide is what Stripe holds.
type StripeSide struct {
	Status   string `json:"status"`
	Currency string `json:"currency,omitempty"`
	Subtotal *int64 `json:"subtotal,omitempty"`
	Tax      *int64 `json:"tax,omitempty"`
	Total    *int64 `json:"total,omitempty"`
	// InvoiceIDs lists every live Stripe invoice of a duplicate.
	InvoiceIDs []string `json:"invoice_ids,omitempty"`
}

// AnrokSide is what Anrok holds.
type AnrokSide struct {
	// Type is Anrok's: normal or void.
	Type     string `json:"type"`
	Currency string `json:"currency,omitempty"`
	// InputAmount is the sum of the transaction's line amounts.
	InputAmount *int64 `json:"input_amount,omitempty"`
	// Tax is the tax to collect; TaxExact Anrok's exact total when the integer is not listed.
	Tax      *int64           `json:"tax,omitempty"`
	TaxExact *decimal.Decimal `json:"tax_exact,omitempty"`
	// TransactionIDs lists every live transaction of a duplicate.
	TransactionIDs []string `json:"transaction_ids,omitempty"`
}

// Report is one reconciliation.
type Report struct {
	Period  Period  `json:"period"`
	Filters Filters `json:"filters"`
	Checked Checked `json:"checked"`
	// Differences, by invoice id, then kind.
	Differences []Difference `json:"differences"`
	// InFlight counts the period's invoices not compared because their workflow is still
	// working on them or waits for a retry (received, draft, failed).
	InFlight int `json:"in_flight"`
	// Notes say what could not be compared, and why.
	Notes []string `json:"notes"`
}

// Period is the reconciled period: invoices received in [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Basis names the time the period is over: "received_at".
	Basis string `json:"basis"`
}

// Filters are the optional account filters of a reconciliation.
type Filters struct {
	StripeAccountID   string `json:"stripe_account_id,omitempty"`
	AnrokConnectionID string `json:"anrok_connection_id,omitempty"`
}

// Checked counts what was compared.
type Checked struct {
	Invoices          int `json:"invoices"`
	StripeInvoices    int `json:"stripe_invoices"`
	AnrokTransactions int `json:"anrok_transactions"`
}

func ptr(v int64) *int64 { return &v }
