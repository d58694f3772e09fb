package anrok

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Limits Anrok documents for a line item's amount, in the currency's minor units.
const (
	MaxLineAmount int64 = 100_000_000_000
	MinLineAmount int64 = -100_000_000_000
)

// Customer tax id types Anrok accepts; either one drives reverse charge in VAT countries.
const (
	TaxIDTypeEUVRN      = "euVrn"
	TaxIDTypeGenericVAT = "genericVatNumber"
)

// Reasons Anrok gives for not taxing a line in a jurisdiction (NotTaxedReason.Type).
const (
	NotTaxedExempt          = "exempt"
	NotTaxedJurisHasNoTax   = "jurisHasNoTax"
	NotTaxedNotCollecting   = "notCollecting"
	NotTaxedProductNotTaxed = "productNotTaxed"
)

// Why an exempt line is exempt (NotTaxedReason.Reason.Type).
const (
	ExemptReverseCharge     = "reverseCharge"
	ExemptCustomerExempt    = "customerExempt"
	ExemptTransactionExempt = "transactionExempt"
)

// Transaction types in a transactions list.
const (
	ListedTypeNormal = "normal"
	ListedTypeVoid   = "void"
)

// TransactionRequest is the body of createEphemeral and createOrUpdate.
//
// Optional strings are omitted when empty: Anrok rejects empty strings where it accepts a
// missing field, so "" is never put on the wire.
type TransactionRequest struct {
	// ID is the transaction id, required by createOrUpdate and unique across the seller
	// account. CreateEphemeral never sends it: an ephemeral calculation is not stored.
	ID           string     `json:"id,omitempty"`
	LineItems    []LineItem `json:"lineItems"`
	CurrencyCode string     `json:"currencyCode"`
	// CustomerAddress is required by Anrok; blank fields are left out (see Address).
	CustomerAddress Address `json:"customerAddress"`
	// CustomerID links the customer's transactions and exemption certificates in Anrok.
	// Sent without CustomerName, the customer must already exist in Anrok.
	CustomerID     string  `json:"customerId,omitempty"`
	CustomerName   string  `json:"customerName,omitempty"`
	CustomerTaxIDs []TaxID `json:"customerTaxIds,omitempty"`
	// AccountingDate (YYYY-MM-DD) and the pair AccountingTime (RFC 3339) +
	// AccountingTimeZone are alternatives: Anrok rejects accountingDate sent together with
	// accountingTimeZone.
	AccountingDate     string `json:"accountingDate,omitempty"`
	AccountingTime     string `json:"accountingTime,omitempty"`
	AccountingTimeZone string `json:"accountingTimeZone,omitempty"`
	// TaxDate (YYYY-MM-DD) picks the rates; it defaults to the accounting date and must lie
	// between 1999-01-01 and 31 days from now.
	TaxDate string `json:"taxDate,omitempty"`
}

// MarshalJSON sends an absent line list as [] rather than null: null is a missing required
// field to Anrok, while an empty list is a (zero-tax) transaction.
func (r TransactionRequest) MarshalJSON() ([]byte, error) {
	type wire TransactionRequest
	w := wire(r)
	if w.LineItems == nil {
		w.LineItems = []LineItem{}
	}
	return json.Marshal(w)
}

// LineItem is one invoice line.
type LineItem struct {
	// ID echoes back on the line's answer; taxflow uses its own line id.
	ID string `json:"id,omitempty"`
	// ProductExternalID must name a product already created in Anrok.
	ProductExternalID string `json:"productExternalId"`
	// Amount is the line total in minor units (negative for credits).
	Amount int64 `json:"amount"`
	// IsTaxIncludedInAmount marks a tax-inclusive price: Anrok backs the tax out of Amount.
	IsTaxIncludedInAmount bool `json:"isTaxIncludedInAmount,omitempty"`
	// Quantity is a decimal string ("3", "0.5"); informational, Amount is already the total.
	Quantity string `json:"quantity,omitempty"`
}

// Address is a customer address. Anrok accepts each field missing or null but rejects an
// empty string, so MarshalJSON trims every field and leaves blank ones out.
type Address struct {
	Country    string `json:"country,omitempty"`
	Line1      string `json:"line1,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
}

// MarshalJSON implements json.Marshaler; see Address.
func (a Address) MarshalJSON() ([]byte, error) {
	type wire Address
	return json.Marshal(wire{
		Country:    strings.TrimSpace(a.Country),
		Line1:      strings.TrimSpace(a.Line1),
		City:       strings.TrimSpace(a.City),
		Region:     strings.TrimSpace(a.Region),
		PostalCode: strings.TrimSpace(a.PostalCode),
	})
}

// TaxID is a customer's tax registration (a VAT number).
type TaxID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// TaxResponse is Anrok's answer to createEphemeral and createOrUpdate.
type TaxResponse struct {
	// Version is the transaction's version after createOrUpdate (1 on creation, bumped by
	// every later createOrUpdate with the same id); 0 for createEphemeral.
	Version int64 `json:"version"`
	// TaxAmountToCollect is the whole transaction's tax in minor units: the sum of the
	// lines' rounded taxAmountToCollect.
	TaxAmountToCollect int64           `json:"taxAmountToCollect"`
	PreTaxAmount       decimal.Decimal `json:"preTaxAmount"`
	// LineItems come back in request order.
	LineItems      []LineTax      `json:"lineItems"`
	JurisSummaries []JurisSummary `json:"jurisSummaries"`
	// Raw is the response body exactly as Anrok sent it.
	Raw json.RawMessage `json:"-"`
}

// LineTax is Anrok's answer for one line item.
type LineTax struct {
	ID string `json:"id"`
	// TaxAmountToCollect is the line's tax in minor units: the sum of its jurisdictions'
	// exact taxes, rounded by Anrok.
	TaxAmountToCollect int64 `json:"taxAmountToCollect"`
	// PreTaxAmount equals the amount for tax-exclusive lines; for tax-inclusive lines it is
	// the amount with the tax backed out (fractional minor units, e.g. "29577.3304").
	PreTaxAmount decimal.Decimal `json:"preTaxAmount"`
	Jurises      []Juris         `json:"jurises"`
	// Raw is this line's JSON exactly as Anrok sent it, for callers that store Anrok's
	// breakdown verbatim.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a line and keeps its raw bytes.
func (l *LineTax) UnmarshalJSON(b []byte) error {
	type wire LineTax
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	w.Raw = append(json.RawMessage(nil), b...)
	*l = LineTax(w)
	return nil
}

// Juris is one jurisdiction's treatment of a line: either Taxes or NotTaxedReason is set.
type Juris struct {
	Name           string          `json:"name"`
	Taxes          []Tax           `json:"taxes"`
	NotTaxedReason *NotTaxedReason `json:"notTaxedReason"`
}

// Tax is one tax a jurisdiction levies on a line. TaxAmount is exact (fractional minor
// units); only the line's TaxAmountToCollect is rounded.
type Tax struct {
	TaxName       string          `json:"taxName"`
	TaxableAmount decimal.Decimal `json:"taxableAmount"`
	TaxAmount     decimal.Decimal `json:"taxAmount"`
	// TaxRate is a fraction between 0 and 1 ("0.0481" is 4.81%).
	TaxRate decimal.Decimal `json:"taxRate"`
}

// NotTaxedReason says why a jurisdiction does not tax a line (Type is one of the
// NotTaxed* constants); Reason is set for NotTaxedExempt.
type NotTaxedReason struct {
	Type   string        `json:"type"`
	Reason *ExemptReason `json:"reason,omitempty"`
}

// ExemptReason says why a line is exempt (Type is one of the Exempt* constants).
type ExemptReason struct {
	Type string `json:"type"`
}

// JurisSummary summarises one jurisdiction over the whole transaction.
type JurisSummary struct {
	// JurisID is Anrok's jurisdiction id (e.g. "us-TX"); the transactions list sends it.
	JurisID         string           `json:"jurisId,omitempty"`
	Name            string           `json:"name"`
	NotTaxedReasons []NotTaxedReason `json:"notTaxedReasons"`
}

// NegationRequest is the body of createNegation: it records the exact inverse of the
// original transaction under a new id.
type NegationRequest struct {
	OriginalTransactionID string `json:"originalTransactionId"`
	NewTransactionID      string `json:"newTransactionId"`
	// OriginalTransactionExpectedVersion, when set, makes Anrok refuse the negation if the
	// original has changed since the caller read it.
	OriginalTransactionExpectedVersion *int64 `json:"originalTransactionExpectedVersion,omitempty"`
}

// Filter types of the transactions list.
const (
	FilterLastModifiedAfter = "lastModifiedAfter"
	FilterFilingInfo        = "filingInfo"
)

// ListRequest is the body of transactions/list. Anrok takes either a Filter (first page)
// or a Cursor (later pages), never both.
type ListRequest struct {
	Filter *ListFilter `json:"filter,omitempty"`
	// Limit is the page size, 1..20 (0: Anrok's default of 10).
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// ListFilter selects transactions: build it with ModifiedAfter or FiledIn.
type ListFilter struct {
	// Type is FilterLastModifiedAfter or FilterFilingInfo.
	Type              string
	LastModifiedAfter time.Time
	FilingInfo        FilingInfo
}

// FilingInfo selects the transactions associated with one filing of one jurisdiction.
type FilingInfo struct {
	JurisID       string `json:"jurisId"`
	JurisFilingID string `json:"jurisFilingId"`
}

// ModifiedAfter filters the transactions created or changed strictly after t.
func ModifiedAfter(t time.Time) *ListFilter {
	return &ListFilter{Type: FilterLastModifiedAfter, LastModifiedAfter: t}
}

// FiledIn filters the transactions associated with a jurisdiction's filing.
func FiledIn(jurisID, jurisFilingID string) *ListFilter {
	return &ListFilter{Type: FilterFilingInfo, FilingInfo: FilingInfo{JurisID: jurisID, JurisFilingID: jurisFilingID}}
}

// MarshalJSON writes the filter as Anrok's {type, value}; times go out in UTC RFC 3339, the
// form Anrok documents.
func (f ListFilter) MarshalJSON() ([]byte, error) {
	type filter struct {
		Type  string `json:"type"`
		Value any    `json:"value"`
	}
	switch f.Type {
	case FilterLastModifiedAfter:
		return json.Marshal(filter{f.Type, f.LastModifiedAfter.UTC().Format(time.RFC3339Nano)})
	case FilterFilingInfo:
		// "associated" is the only association status Anrok documents for this filter.
		return json.Marshal(filter{f.Type, struct {
			FilingAssociationStatus string `json:"filingAssociationStatus"`
			JurisID                 string `json:"jurisId"`
			JurisFilingID           string `json:"jurisFilingId"`
		}{"associated", f.FilingInfo.JurisID, f.FilingInfo.JurisFilingID}})
	default:
		return nil, fmt.Errorf("anrok: unknown list filter type %q", f.Type)
	}
}

// ListResponse is one page of transactions.
type ListResponse struct {
	Transactions []ListedTransaction `json:"transactions"`
	// NextCursor fetches the next page while HasMore is true.
	NextCursor string `json:"nextCursor"`
	HasMore    bool   `json:"hasMore"`
}

// ListedTransaction is a transaction as the list returns it. A voided transaction has
// Type ListedTypeVoid and no Body.
type ListedTransaction struct {
	Type                string                 `json:"type"`
	ID                  string                 `json:"id"`
	AnrokCreatedTime    time.Time              `json:"anrokCreatedTime"`
	AnrokModifiedTime   time.Time              `json:"anrokModifiedTime"`
	SourceBillingSystem string                 `json:"sourceBillingSystem,omitempty"`
	Body                *ListedTransactionBody `json:"body,omitempty"`
	// Raw is the transaction's JSON exactly as Anrok sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a listed transaction and keeps its raw bytes.
func (t *ListedTransaction) UnmarshalJSON(b []byte) error {
	type wire ListedTransaction
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	w.Raw = append(json.RawMessage(nil), b...)
	*t = ListedTransaction(w)
	return nil
}

// ListedTransactionBody is what Anrok recorded for a normal transaction.
type ListedTransactionBody struct {
	AccountingDate string          `json:"accountingDate"`
	TaxDate        string          `json:"taxDate"`
	CurrencyCode   string          `json:"currencyCode"`
	Customer       *ListedCustomer `json:"customer"`
	// Addresses and LineItems are kept as Anrok's JSON: the reference this client is built
	// on does not pin their shape, and reconciliation only needs them verbatim.
	Addresses []json.RawMessage `json:"addresses"`
	// InputAmount is the sum of the line amounts, in minor units.
	InputAmount    int64             `json:"inputAmount"`
	PreTaxAmount   decimal.Decimal   `json:"preTaxAmount"`
	TaxAmountDue   TaxAmountDue      `json:"taxAmountDue"`
	JurisSummaries []JurisSummary    `json:"jurisSummaries"`
	LineItems      []json.RawMessage `json:"lineItems"`
}

// ListedCustomer is the customer a listed transaction was billed to.
type ListedCustomer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TaxAmountDue splits a transaction's exact tax between tax-inclusive and tax-exclusive
// lines.
type TaxAmountDue struct {
	Inclusive decimal.Decimal `json:"inclusive"`
	Exclusive decimal.Decimal `json:"exclusive"`
	Total     decimal.Decimal `json:"total"`
}
