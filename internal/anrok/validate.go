package anrok

import (
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Validate reports, as a NeedsPerson *failure.Error with code CodeInvalidRequest, every
// problem in r that Anrok is documented to reject with a 400. Checking locally keeps a
// request that can never succeed from spending one of the seller's 10 calls per second,
// and names every bad field at once instead of one per round trip.
//
// Validate checks the body shared by createEphemeral and createOrUpdate; CreateOrUpdate
// additionally requires ID.
func (r TransactionRequest) Validate() error {
	if p := r.problems(); len(p) > 0 {
		return invalid(p)
	}
	return nil
}

func (r TransactionRequest) problems() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	code := strings.TrimSpace(r.CurrencyCode)
	switch {
	case code == "":
		add("currencyCode is required")
	case !isLetters(code, 3):
		add("currencyCode %q is not a 3-letter ISO 4217 code", r.CurrencyCode)
	}

	for i, li := range r.LineItems {
		if strings.TrimSpace(li.ProductExternalID) == "" {
			add("lineItems[%d].productExternalId is required (map the product to an Anrok product)", i)
		}
		if li.Amount < MinLineAmount || li.Amount > MaxLineAmount {
			add("lineItems[%d].amount %d is outside Anrok's range of %d to %d minor units", i, li.Amount, MinLineAmount, MaxLineAmount)
		}
		if li.Quantity != "" {
			if _, err := decimal.NewFromString(li.Quantity); err != nil {
				add("lineItems[%d].quantity %q is not a decimal number", i, li.Quantity)
			}
		}
	}

	for i, id := range r.CustomerTaxIDs {
		if id.Type != TaxIDTypeEUVRN && id.Type != TaxIDTypeGenericVAT {
			add("customerTaxIds[%d].type %q is not one of %q, %q", i, id.Type, TaxIDTypeEUVRN, TaxIDTypeGenericVAT)
		}
		if strings.TrimSpace(id.Value) == "" {
			add("customerTaxIds[%d].value is empty", i)
		}
	}

	// Anrok dates a transaction either by accountingDate or by accountingTime in a zone;
	// both at once is ambiguous and refused.
	if r.AccountingDate != "" && r.AccountingTimeZone != "" {
		add("accountingDate cannot be sent together with accountingTimeZone")
	}
	if r.AccountingTimeZone != "" && r.AccountingTime == "" {
		add("accountingTimeZone is only meaningful with accountingTime")
	}
	if r.AccountingDate != "" && !isDate(r.AccountingDate) {
		add("accountingDate %q is not a YYYY-MM-DD date", r.AccountingDate)
	}
	if r.TaxDate != "" && !isDate(r.TaxDate) {
		add("taxDate %q is not a YYYY-MM-DD date", r.TaxDate)
	}
	if r.AccountingTime != "" {
		if _, err := time.Parse(time.RFC3339, r.AccountingTime); err != nil {
			add("accountingTime %q is not an RFC 3339 time", r.AccountingTime)
		}
	}
	return p
}

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func isLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

func (r NegationRequest) problems() []string {
	var p []string
	if strings.TrimSpace(r.OriginalTransactionID) == "" {
		p = append(p, "originalTransactionId is required")
	}
	if strings.TrimSpace(r.NewTransactionID) == "" {
		p = append(p, "newTransactionId is required")
	}
	if r.OriginalTransactionID != "" && r.OriginalTransactionID == r.NewTransactionID {
		p = append(p, "newTransactionId must differ from originalTransactionId")
	}
	if v := r.OriginalTransactionExpectedVersion; v != nil && *v < 1 {
		p = append(p, fmt.Sprintf("originalTransactionExpectedVersion %d is not a version (versions start at 1)", *v))
	}
	return p
}

func (r ListRequest) problems() []string {
	var p []string
	if r.Filter != nil && r.Cursor != "" {
		p = append(p, "filter and cursor cannot be sent together (the cursor already carries the filter)")
	}
	if r.Limit < 0 || r.Limit > 20 {
		p = append(p, fmt.Sprintf("limit %d is outside 1..20", r.Limit))
	}
	if f := r.Filter; f != nil {
		switch f.Type {
		case FilterLastModifiedAfter:
			if f.LastModifiedAfter.IsZero() {
				p = append(p, "filter lastModifiedAfter has no time")
			}
		case FilterFilingInfo:
			if f.FilingInfo.JurisID == "" || f.FilingInfo.JurisFilingID == "" {
				p = append(p, "filter filingInfo needs jurisId and jurisFilingId")
			}
		default:
			p = append(p, fmt.Sprintf("filter type %q is not %q or %q", f.Type, FilterLastModifiedAfter, FilterFilingInfo))
		}
	}
	return p
}
