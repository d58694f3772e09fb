package invoicing

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// UsableAddress reports whether a can place a customer in a tax jurisdiction: a country,
// and in the US and Canada (where tax is set by state or province and below) a region or a
// postal code too.
func UsableAddress(a *tax.Address) bool {
	if a == nil || strings.TrimSpace(a.Country) == "" {
		return false
	}
	switch strings.ToUpper(a.Country) {
	case "US", "CA":
		return strings.TrimSpace(a.Region) != "" || strings.TrimSpace(a.PostalCode) != ""
	}
	return true
}

// ChooseAddress picks the address tax is computed for: the shipping address when it is
// usable, otherwise the billing address — always one whole address, never fields mixed
// from both. ok is false when neither is usable.
func ChooseAddress(shipping, billingAddr *tax.Address) (addr tax.Address, which string, ok bool) {
	if UsableAddress(shipping) {
		return *shipping, "shipping", true
	}
	if UsableAddress(billingAddr) {
		return *billingAddr, "billing", true
	}
	return tax.Address{}, "", false
}

// ProductMapping is the engine product each line uses.
type ProductMapping struct {
	// ByLine maps a line id to the engine's product code.
	ByLine map[string]string
	// Fallback lists the taxflow products that used the connection's fallback product.
	Fallback []string
	// Unmapped lists taxflow products with neither a mapping nor a fallback, sorted.
	Unmapped []string
}

// MapProducts resolves each line's engine product: the product's own mapping, else the
// connection's fallback product.
func MapProducts(lines []sqldb.InvoiceLine, products map[string]sqldb.Product, fallback string) ProductMapping {
	m := ProductMapping{ByLine: map[string]string{}}
	fallbackSeen, unmappedSeen := map[string]bool{}, map[string]bool{}
	for _, l := range lines {
		p := products[l.ProductID]
		switch {
		case p.AnrokProductID != nil && *p.AnrokProductID != "":
			m.ByLine[l.ID] = *p.AnrokProductID
		case fallback != "":
			m.ByLine[l.ID] = fallback
			if !fallbackSeen[l.ProductID] {
				fallbackSeen[l.ProductID] = true
				m.Fallback = append(m.Fallback, l.ProductID)
			}
		default:
			if !unmappedSeen[l.ProductID] {
				unmappedSeen[l.ProductID] = true
				m.Unmapped = append(m.Unmapped, l.ProductID)
			}
		}
	}
	sort.Strings(m.Fallback)
	sort.Strings(m.Unmapped)
	return m
}

// AnrokCustomerID is the id Anrok knows the customer by: its anrok_customer_id, else the
// taxflow id under the connection's prefix.
func AnrokCustomerID(c sqldb.Customer, prefix string) string {
	if c.AnrokCustomerID != nil && *c.AnrokCustomerID != "" {
		return *c.AnrokCustomerID
	}
	return prefix + c.ID
}

// AnrokTransactionID is the committed transaction's id: the connection's prefix and the
// invoice id. Deterministic, so a retry updates the same transaction instead of filing a
// second one.
func AnrokTransactionID(prefix, invoiceID string) string { return prefix + invoiceID }

// TaxDate clamps the date whose rates apply to the engine's window: Anrok refuses a tax date
// more than 31 days ahead, counted in dates of its own time zone; a 30-day limit keeps the
// clamped date inside that window in every zone. The zero time means "the accounting date"
// (no clamp needed).
func TaxDate(issuedAt, now time.Time) time.Time {
	limit := now.Add(30 * 24 * time.Hour)
	if issuedAt.After(limit) {
		return limit
	}
	return time.Time{}
}

// StripeTaxabilityReason maps an engine breakdown entry to Stripe's taxability_reason.
func StripeTaxabilityReason(e tax.BreakdownEntry) string {
	switch e.NotTaxedReason {
	case "":
		return "standard_rated"
	case "productNotTaxed":
		return "product_exempt"
	case "jurisHasNoTax":
		return "not_subject_to_tax"
	case "notCollecting":
		return "not_collecting"
	case "exempt":
		switch e.ExemptReason {
		case "reverseCharge":
			return "reverse_charge"
		case "customerExempt":
			return "customer_exempt"
		}
		return "not_subject_to_tax"
	}
	return "not_subject_to_tax"
}

// MaxStripeTaxAmounts is Stripe's limit of tax amounts per line.
const MaxStripeTaxAmounts = 10

// StripeLineTaxes turns a line's breakdown into Stripe tax_amounts: one per jurisdiction
// tax, taxed entries first, within Stripe's 10 per line (the smallest taxed entries merge
// into one "multiple" entry when a line has more). Not-taxed jurisdictions are kept with a
// zero amount and their reason while there is room, so the invoice shows why.
func StripeLineTaxes(lineAmount int64, breakdown []tax.BreakdownEntry, inclusive bool) []billing.LineTax {
	var taxed, untaxed []billing.LineTax
	for _, e := range breakdown {
		lt := billing.LineTax{
			Amount:            e.Billed,
			TaxableAmount:     e.TaxableAmount.Round(0).IntPart(),
			TaxabilityReason:  StripeTaxabilityReason(e),
			DisplayName:       displayName(e),
			Percentage:        e.Rate.Mul(decimal.NewFromInt(100)),
			Inclusive:         inclusive,
			Jurisdiction:      e.Jurisdiction,
			JurisdictionLevel: e.Level,
			TaxType:           e.TaxType,
			Country:           e.Country,
			State:             e.State,
		}
		if e.NotTaxedReason == "" {
			taxed = append(taxed, lt)
		} else {
			if lt.TaxableAmount == 0 {
				lt.TaxableAmount = lineAmount
			}
			untaxed = append(untaxed, lt)
		}
	}
	if len(taxed) > MaxStripeTaxAmounts {
		sort.SliceStable(taxed, func(i, j int) bool { return abs(taxed[i].Amount) > abs(taxed[j].Amount) })
		merged := billing.LineTax{DisplayName: "Other jurisdictions", JurisdictionLevel: "multiple", TaxabilityReason: "standard_rated", Inclusive: inclusive, TaxType: taxed[0].TaxType, Country: taxed[0].Country, TaxableAmount: lineAmount}
		for _, t := range taxed[MaxStripeTaxAmounts-1:] {
			merged.Amount += t.Amount
			merged.Percentage = merged.Percentage.Add(t.Percentage)
		}
		if merged.Percentage.GreaterThan(decimal.NewFromInt(100)) {
			// Stripe accepts 0..100; a combined rate is display only, the amount is exact.
			merged.Percentage = decimal.Zero
		}
		taxed = append(taxed[:MaxStripeTaxAmounts-1], merged)
	}
	out := taxed
	for _, u := range untaxed {
		if len(out) >= MaxStripeTaxAmounts {
			break
		}
		out = append(out, u)
	}
	return out
}

func displayName(e tax.BreakdownEntry) string {
	name := e.TaxName
	if name == "" || name == "Tax" {
		name = taxTypeName(e.TaxType)
	}
	if e.Jurisdiction != "" {
		return fmt.Sprintf("%s (%s)", name, e.Jurisdiction)
	}
	return name
}

func taxTypeName(t string) string {
	switch t {
	case "vat":
		return "VAT"
	case "gst":
		return "GST"
	case "sales_tax":
		return "Sales tax"
	}
	return "Tax"
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// LineDescription is the text of a Stripe line: the billing engine's description (else the
// product's name), followed by the true quantity and unit price when showQuantity (a
// decimal quantity Stripe cannot show, or the account's always_show_quantity).
func LineDescription(l sqldb.InvoiceLine, productName string, showQuantity bool) string {
	desc := productName
	if l.Description != nil && strings.TrimSpace(*l.Description) != "" {
		desc = *l.Description
	}
	if showQuantity && l.Quantity.Valid {
		if l.UnitPrice.Valid {
			desc += fmt.Sprintf(" (quantity %s × %s)", l.Quantity.Decimal.String(), l.UnitPrice.Decimal.String())
		} else {
			desc += fmt.Sprintf(" (quantity %s)", l.Quantity.Decimal.String())
		}
	}
	return truncateRunes(desc, 500)
}

// truncateRunes cuts s to at most n characters, never inside a UTF-8 sequence.
func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// LastDayOfPeriod is the effective date of an invoice aligned to its service period (the
// account's align_effective_at): the period's last moment. A period ending exactly at
// midnight ends the day before (an exclusive end).
func LastDayOfPeriod(start, end time.Time) time.Time {
	last := end.UTC()
	if last.Equal(last.Truncate(24*time.Hour)) && last.After(start) {
		last = last.Add(-time.Second)
	}
	return last
}
