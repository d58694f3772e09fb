// Package tax is taxflow's view of a tax engine: the request an invoice makes, the answer
// it stores, and the small interface the workflow's activities call (compute, commit, void,
// negate). Anrok is the first implementation (package anroktax); another engine is one
// more package, not a change to the workflow.
//
// The package owns the translation of an engine's fractional answer into the integer
// amounts taxflow bills (Breakdown.Allocate), so that the tax on the Stripe invoice and the
// tax the engine recorded agree to the minor unit.
package tax

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/shopspring/decimal"
)

// Address is a customer address as the engine needs it. Empty fields are unknown.
type Address struct {
	Line1      string `json:"line1,omitempty"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// TaxID is a customer tax id, typed with Stripe's names (eu_vat, gb_vat, ...).
type TaxID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Customer is who the invoice is billed to.
type Customer struct {
	// ID is the engine's customer id (links transactions, finds exemption certificates).
	ID      string
	Name    string
	Address Address
	TaxIDs  []TaxID
}

// Line is one invoice line as the engine sees it.
type Line struct {
	ID string
	// ProductCode is the engine's product id (Anrok's productExternalId).
	ProductCode string
	// Amount in minor units; negative for credits.
	Amount      int64
	Quantity    decimal.NullDecimal
	TaxIncluded bool
}

// Request asks for the tax of one invoice.
type Request struct {
	// TransactionID names the committed transaction (Commit only); derived from the invoice.
	TransactionID string
	Currency      string
	Customer      Customer
	Lines         []Line
	// AccountingTime is when the invoice was issued.
	AccountingTime time.Time
	// AccountingTimeZone is the IANA zone the engine books AccountingTime in ("" = engine's).
	AccountingTimeZone string
	// TaxDate fixes the date whose rates apply (zero: the accounting date).
	TaxDate time.Time
}

// Result is the engine's answer for a whole invoice.
type Result struct {
	// Tax is the invoice's tax in minor units, as the engine will collect and file it.
	Tax                int64
	PreTaxAmount       decimal.Decimal
	TransactionID      string
	TransactionVersion int64
	Lines              []LineResult
	CalculatedAt       time.Time
}

// LineResult is the engine's answer for one line, matched by line id.
type LineResult struct {
	LineID string
	// Tax is the line's tax in minor units.
	Tax          int64
	PreTaxAmount decimal.Decimal
	Breakdown    []BreakdownEntry
	// Raw is the engine's answer for the line, verbatim.
	Raw json.RawMessage
}

// BreakdownEntry is one tax of one jurisdiction on a line, or a jurisdiction that did not
// tax the line and why. JSON names are the API's (`tax_breakdown[]`).
type BreakdownEntry struct {
	Jurisdiction string `json:"jurisdiction"`
	// Level is Stripe's jurisdiction_level: country, state, county, city, district, multiple.
	Level string `json:"level,omitempty"`
	// TaxType is Stripe's tax_type: sales_tax, vat, gst, ...
	TaxType       string          `json:"tax_type,omitempty"`
	Country       string          `json:"country,omitempty"`
	State         string          `json:"state,omitempty"`
	TaxName       string          `json:"tax_name,omitempty"`
	Rate          decimal.Decimal `json:"rate"`
	TaxableAmount decimal.Decimal `json:"taxable_amount"`
	TaxAmount     decimal.Decimal `json:"tax_amount"`
	// NotTaxedReason is set when the jurisdiction does not tax the line: exempt,
	// jurisHasNoTax, notCollecting, productNotTaxed.
	NotTaxedReason string `json:"not_taxed_reason,omitempty"`
	// ExemptReason details an exempt jurisdiction: reverseCharge, customerExempt,
	// transactionExempt.
	ExemptReason string `json:"exempt_reason,omitempty"`
	// Billed is the entry's share of the line's integer tax (taxflow's rounding rule); it is
	// what Stripe shows for the entry.
	Billed int64 `json:"billed_amount"`
}

// Engine computes, records and reverses tax.
type Engine interface {
	// Name identifies the engine in stored results ("anrok").
	Name() string
	// Calculate computes tax without recording anything.
	Calculate(ctx context.Context, req Request) (Result, error)
	// Commit computes and records the transaction req.TransactionID for filing; calling it
	// again with the same id updates the transaction.
	Commit(ctx context.Context, req Request) (Result, error)
	// Void removes a committed transaction from filing. expectedVersion 0: any version.
	Void(ctx context.Context, transactionID string, expectedVersion int64) error
	// Negate records the exact inverse of a committed transaction under newTransactionID.
	Negate(ctx context.Context, originalTransactionID, newTransactionID string, expectedVersion int64) error
}

// Errors an Engine wraps (alongside its classified *failure.Error) for the conditions the
// invoice workflow reacts to, whatever the engine.
var (
	// ErrTransactionFrozen: the transaction is frozen for filing; it can only be negated.
	ErrTransactionFrozen = errors.New("tax: transaction frozen for filing")
	// ErrDuplicateTransaction: a transaction with that id exists already.
	ErrDuplicateTransaction = errors.New("tax: transaction id already used")
)
