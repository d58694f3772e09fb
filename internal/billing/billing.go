// Package billing is taxflow's view of a billing provider: the invoice it drafts, the lines
// it writes (with the tax computed by the tax engine), finalization and void. Stripe is the
// first implementation (package stripebilling). Every call is idempotent by construction:
// the provider derives its idempotency keys from taxflow's invoice and line ids, and finds
// what an earlier attempt already created before creating anything.
package billing

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
)

// Call scopes a provider call to a taxflow invoice: the provider records the invoice id
// (Stripe metadata taxflow_invoice_id) and derives its idempotency keys from the invoice,
// the operation, the parameters and Attempt.
type Call struct {
	InvoiceID string
	// Attempt names the attempt ("r0a1": the first attempt before any operator retry). A new
	// attempt gets new keys — Stripe replays a saved error (even a 500) for 24 hours under
	// an old one — so Retried must be set whenever an earlier attempt may have reached the
	// provider: the provider then looks for what that attempt did before doing anything.
	Attempt string
	Retried bool
}

// Draft describes the provider invoice to create for a taxflow invoice.
type Draft struct {
	CustomerRef      string // the provider's customer id (cus_...)
	Currency         string
	CollectionMethod string // charge_automatically | send_invoice
	DaysUntilDue     int64  // send_invoice only
	Description      string
	Metadata         map[string]string
	// ReceivedAt bounds the search for a draft an earlier attempt created.
	ReceivedAt time.Time
	// EffectiveAt replaces the date of issue (zero: the finalization time).
	EffectiveAt time.Time
	// AutomaticTax has the provider compute tax on the draft (the Anrok Stripe app).
	AutomaticTax bool
}

// Line is one provider invoice line.
type Line struct {
	// LineID is taxflow's line id; the provider keys the line by it (metadata) so retries
	// and refreshes update lines instead of adding them twice.
	LineID      string
	Description string
	Currency    string
	Amount      int64
	// TaxInclusive: Amount includes the line's tax (Stripe's inclusive tax behaviour).
	TaxInclusive bool
	// PlainAmount bills the line as quantity 1 at Amount (no unit price), whatever its
	// quantity: Stripe's quantities are integers, and one decimal quantity on an invoice
	// turns every line into its amount.
	PlainAmount bool
	// Quantity and UnitPrice are the billing engine's; the provider shows them as it can.
	Quantity    decimal.NullDecimal
	UnitPrice   decimal.NullDecimal
	ProductRef  string // the provider's product id, if mapped
	PeriodStart time.Time
	PeriodEnd   time.Time
	Taxes       []LineTax
}

// LineTax is one tax amount written onto a line (computed by the tax engine).
type LineTax struct {
	Amount        int64
	TaxableAmount int64
	// TaxabilityReason uses Stripe's names: standard_rated, product_exempt, reverse_charge, ...
	TaxabilityReason  string
	DisplayName       string
	Percentage        decimal.Decimal // 0..100
	Inclusive         bool
	Jurisdiction      string
	JurisdictionLevel string
	TaxType           string
	Country           string
	State             string
}

// Invoice is the provider's invoice as last seen.
type Invoice struct {
	ID          string
	Number      string
	Status      string // draft, open, paid, void, uncollectible; "deleted" for a deleted draft
	Subtotal    int64
	Tax         int64
	Total       int64
	FinalizedAt time.Time
	Lines       []InvoiceLine
	// AutomaticTax is the state of the provider's own tax calculation ("" when off;
	// "complete" when the tax on the invoice is final).
	AutomaticTax string
}

// InvoiceLine is one line of the provider's invoice.
type InvoiceLine struct {
	ID     string // il_...
	ItemID string // ii_...
	// LineID is taxflow's line id read back from the line's metadata ("" if not ours).
	LineID string
	Amount int64
	Tax    int64
	// Taxes are the line's tax amounts, as Stripe holds them.
	Taxes []int64
	// TaxDetails describe each tax amount (for tax the provider computed itself).
	TaxDetails []TaxDetail
}

// TaxDetail is one tax amount on a provider line.
type TaxDetail struct {
	Amount           int64
	TaxableAmount    int64
	TaxabilityReason string
	Inclusive        bool
	// TaxRateID is the provider's tax rate the amount was computed with (txr_...).
	TaxRateID string
}

// TaxRate describes one of the provider's tax rates.
type TaxRate struct {
	ID           string
	DisplayName  string
	Jurisdiction string
	Inclusive    bool
}

// CreditNote credits part of a finalized invoice.
type CreditNote struct {
	// Reason uses Stripe's names (duplicate, fraudulent, order_change,
	// product_unsatisfactory); "" for none.
	Reason string
	Memo   string
	Lines  []CreditNoteLine
	// Paid: the invoice is paid, so the credit goes to the customer's balance (a credit
	// note on an open invoice reduces what is due).
	Paid bool
}

// CreditNoteLine credits part of one provider invoice line.
type CreditNoteLine struct {
	InvoiceLineID string // il_...
	Amount        int64  // pre-tax amount credited
	Taxes         []CreditNoteTax
}

// CreditNoteTax is the tax of a credit note line, on one of the invoice's tax rates.
type CreditNoteTax struct {
	Amount        int64
	TaxableAmount int64
	TaxRateID     string
}

// IssuedCreditNote is a credit note as the provider holds it.
type IssuedCreditNote struct {
	ID    string
	Tax   int64
	Total int64
}

// Provider drafts, taxes, finalizes and voids invoices.
type Provider interface {
	// CreateDraft creates the draft, or returns the one an earlier attempt created.
	CreateDraft(ctx context.Context, c Call, d Draft) (Invoice, error)
	// WriteLines makes the draft's lines equal lines: missing lines are added, lines whose
	// tax changed are updated. known is the draft as the caller knows it for sure (a draft it
	// just created), or nil to have the provider read it first. It returns the invoice as it
	// stands afterwards.
	WriteLines(ctx context.Context, c Call, externalID string, lines []Line, known *Invoice) (Invoice, error)
	// Finalize finalizes the draft (no-op when already finalized).
	Finalize(ctx context.Context, c Call, externalID string) (Invoice, error)
	// Void voids a finalized invoice (no-op when already void; an error with code
	// CodeInvoicePaid when it is paid).
	Void(ctx context.Context, c Call, externalID string) (Invoice, error)
	// Get reads the invoice; a deleted draft reads as Status "deleted".
	Get(ctx context.Context, externalID string) (Invoice, error)
	// DeleteDraft deletes a draft (no-op when already deleted).
	DeleteDraft(ctx context.Context, c Call, externalID string) error
	// DisableAutomaticTax turns the provider's own tax calculation off on a draft.
	DisableAutomaticTax(ctx context.Context, c Call, externalID string) (Invoice, error)
	// TaxRate reads one of the provider's tax rates.
	TaxRate(ctx context.Context, id string) (TaxRate, error)
	// CreateCreditNote issues a credit note, or returns the one an earlier attempt issued
	// (the provider keys it by creditNoteID).
	CreateCreditNote(ctx context.Context, c Call, externalID, creditNoteID string, cn CreditNote) (IssuedCreditNote, error)
	// DisputedInvoice finds the invoice a dispute is about ("" when none) and the
	// dispute's status.
	DisputedInvoice(ctx context.Context, disputeID string) (externalInvoiceID, status string, err error)
}

// CodeInvoicePaid is the error code of a void refused because the invoice is paid.
const CodeInvoicePaid = "invoice_paid"
