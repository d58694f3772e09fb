package invoicing

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

func str(s string) *string { return &s }

func TestShippingAddressWinsOnlyWhenItCanPlaceTheCustomer(t *testing.T) {
	billing := &tax.Address{Line1: "1450 Cherokee St", City: "Denver", Region: "CO", PostalCode: "80204", Country: "US"}
	shipping := &tax.Address{Line1: "350 5th Ave", City: "New York", Region: "NY", Country: "US"}
	if a, which, ok := ChooseAddress(shipping, billing); !ok || which != "shipping" || a != *shipping {
		t.Fatalf("got %v %s %v", a, which, ok)
	}
	// A US shipping address without region or postal code cannot place the customer: the
	// whole billing address is used, never a mix of both.
	partial := &tax.Address{Line1: "1 Main St", City: "Springfield", Country: "US"}
	if a, which, ok := ChooseAddress(partial, billing); !ok || which != "billing" || a != *billing {
		t.Fatalf("got %v %s %v", a, which, ok)
	}
	if _, _, ok := ChooseAddress(nil, &tax.Address{City: "Paris"}); ok {
		t.Fatal("an address without a country was used")
	}
	if _, which, ok := ChooseAddress(nil, &tax.Address{Country: "DE"}); !ok || which != "billing" {
		t.Fatal("a country is enough outside the US and Canada")
	}
}

func TestUnmappedProductsUseTheFallbackElseAreNamed(t *testing.T) {
	lines := []sqldb.InvoiceLine{{ID: "l1", ProductID: "mapped"}, {ID: "l2", ProductID: "bare"}, {ID: "l3", ProductID: "bare"}, {ID: "l4", ProductID: "other"}}
	products := map[string]sqldb.Product{"mapped": {ID: "mapped", AnrokProductID: str("saas-product-1")}, "bare": {ID: "bare"}, "other": {ID: "other", AnrokProductID: str("")}}
	m := MapProducts(lines, products, "fallback-p")
	if m.ByLine["l1"] != "saas-product-1" || m.ByLine["l2"] != "fallback-p" || len(m.Unmapped) != 0 || strings.Join(m.Fallback, ",") != "bare,other" {
		t.Fatalf("with fallback: %+v", m)
	}
	m = MapProducts(lines, products, "")
	if strings.Join(m.Unmapped, ",") != "bare,other" {
		t.Fatalf("without fallback: %+v", m)
	}
}

func TestAnrokCustomerIDPrefersTheExplicitOne(t *testing.T) {
	if got := AnrokCustomerID(sqldb.Customer{ID: "c1"}, "taxflow:"); got != "taxflow:c1" {
		t.Fatal(got)
	}
	if got := AnrokCustomerID(sqldb.Customer{ID: "c1", AnrokCustomerID: str("cus_anrok")}, "taxflow:"); got != "cus_anrok" {
		t.Fatal(got)
	}
}

func TestTaxDateIsClampedToAnroks31DayWindow(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if d := TaxDate(now.AddDate(0, 0, 5), now); !d.IsZero() {
		t.Fatalf("within the window: %v", d)
	}
	if d := TaxDate(now.AddDate(0, 3, 0), now); !d.Equal(now.Add(30 * 24 * time.Hour)) {
		t.Fatalf("three months ahead: %v", d)
	}
}

func TestNotTaxedReasonsMapToStripeTaxabilityReasons(t *testing.T) {
	cases := map[[2]string]string{
		{"", ""}:                        "standard_rated",
		{"productNotTaxed", ""}:         "product_exempt",
		{"jurisHasNoTax", ""}:           "not_subject_to_tax",
		{"notCollecting", ""}:           "not_collecting",
		{"exempt", "reverseCharge"}:     "reverse_charge",
		{"exempt", "customerExempt"}:    "customer_exempt",
		{"exempt", "transactionExempt"}: "not_subject_to_tax",
	}
	for in, want := range cases {
		if got := StripeTaxabilityReason(tax.BreakdownEntry{NotTaxedReason: in[0], ExemptReason: in[1]}); got != want {
			t.Errorf("%v → %s, want %s", in, got, want)
		}
	}
}

func TestStripeAllowsAtMostTenTaxAmountsPerLine(t *testing.T) {
	var bd []tax.BreakdownEntry
	var total int64
	for i := 0; i < 13; i++ {
		bd = append(bd, tax.BreakdownEntry{Jurisdiction: "J", TaxAmount: decimal.NewFromInt(int64(i + 1)), Billed: int64(i + 1), Rate: decimal.RequireFromString("0.01")})
		total += int64(i + 1)
	}
	bd = append(bd, tax.BreakdownEntry{Jurisdiction: "Untaxed", NotTaxedReason: "jurisHasNoTax"})
	out := StripeLineTaxes(10000, bd, false)
	if len(out) != MaxStripeTaxAmounts {
		t.Fatalf("%d tax amounts", len(out))
	}
	var sum int64
	for _, o := range out {
		sum += o.Amount
	}
	if sum != total {
		t.Fatalf("merged amounts sum to %d, want %d: no tax may be lost", sum, total)
	}
}

func TestDecimalQuantityIsWrittenIntoTheDescription(t *testing.T) {
	l := sqldb.InvoiceLine{Description: str("API calls"), Quantity: decimal.NullDecimal{Decimal: decimal.RequireFromString("12500.5"), Valid: true}, UnitPrice: decimal.NullDecimal{Decimal: decimal.RequireFromString("0.02"), Valid: true}}
	if got := LineDescription(l, "ignored", true); got != "API calls (quantity 12500.5 × 0.02)" {
		t.Fatal(got)
	}
	if got := LineDescription(l, "ignored", false); got != "API calls" {
		t.Fatal(got)
	}
	if got := LineDescription(sqldb.InvoiceLine{}, "Platform fee", true); got != "Platform fee" {
		t.Fatal(got)
	}
}

func TestLongDescriptionsAreCutOnCharacterBoundaries(t *testing.T) {
	long := strings.Repeat("請求", 300)
	got := LineDescription(sqldb.InvoiceLine{Description: &long}, "", false)
	if len([]rune(got)) != 500 || !utf8.ValidString(got) {
		t.Fatalf("%d characters, valid %v", len([]rune(got)), utf8.ValidString(got))
	}
}
