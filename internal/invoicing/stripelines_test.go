package invoicing

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

func qty(s string) decimal.NullDecimal {
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

func src(id string, amount int64, quantity string) StripeLineSource {
	l := sqldb.InvoiceLine{ID: id, Amount: amount, Description: str("Line " + id)}
	if quantity != "" {
		l.Quantity = qty(quantity)
		l.UnitPrice = qty("0.5")
	}
	return StripeLineSource{Line: l, StripeProduct: "prod_1", Breakdown: []tax.BreakdownEntry{}}
}

func TestOneDecimalQuantityMakesEveryStripeLineQuantityOne(t *testing.T) {
	lines := StripeInvoiceLines([]StripeLineSource{src("a", 100, "2"), src("b", 75, "1.5")}, StripeSettings{}, "usd", time.Time{}, time.Time{})
	for _, l := range lines {
		if !l.PlainAmount || !strings.Contains(l.Description, "(quantity ") {
			t.Fatalf("line %+v", l)
		}
	}
	if lines[0].Description != "Line a (quantity 2 × 0.5)" {
		t.Fatalf("description %q", lines[0].Description)
	}
	// Integer quantities only: Stripe shows them itself.
	lines = StripeInvoiceLines([]StripeLineSource{src("a", 100, "2")}, StripeSettings{}, "usd", time.Time{}, time.Time{})
	if lines[0].PlainAmount || lines[0].Description != "Line a" {
		t.Fatalf("line %+v", lines[0])
	}
}

func TestAlwaysShowQuantityWritesItIntoEveryDescription(t *testing.T) {
	lines := StripeInvoiceLines([]StripeLineSource{src("a", 100, "2")}, StripeSettings{AlwaysShowQuantity: true}, "usd", time.Time{}, time.Time{})
	if lines[0].Description != "Line a (quantity 2 × 0.5)" || lines[0].PlainAmount {
		t.Fatalf("line %+v", lines[0])
	}
}

func TestZeroQuantityLinesAreHiddenUnlessShown(t *testing.T) {
	in := []StripeLineSource{src("a", 100, "2"), src("zero", 0, "0"), src("free", 0, "")}
	if got := StripeInvoiceLines(in, StripeSettings{}, "usd", time.Time{}, time.Time{}); len(got) != 2 || got[1].LineID != "free" {
		t.Fatalf("hidden: %+v", got)
	}
	if got := StripeInvoiceLines(in, StripeSettings{ShowZeroQuantityLines: true}, "usd", time.Time{}, time.Time{}); len(got) != 3 {
		t.Fatalf("shown: %d lines", len(got))
	}
}

func TestOverStripesLineLimitTheInvoiceBecomesOneLineWithTheSummedTax(t *testing.T) {
	var in []StripeLineSource
	var total, tax7 int64
	for i := 0; i < 600; i++ {
		s := src(fmt.Sprintf("l%d", i), 1001, "")
		s.Breakdown = []tax.BreakdownEntry{
			{Jurisdiction: "Colorado", NotTaxedReason: "productNotTaxed", TaxableAmount: decimal.NewFromInt(1001)},
			{Jurisdiction: "Denver (local)", TaxName: "Tax", Rate: decimal.RequireFromString("0.0481"), TaxableAmount: decimal.NewFromInt(1001),
				TaxAmount: decimal.RequireFromString("48.1481"), Billed: 48},
		}
		in = append(in, s)
		total += 1001
		tax7 += 48
	}
	inclusive := src("incl", 5000, "")
	inclusive.Line.TaxInclusive = true
	inclusive.Breakdown = []tax.BreakdownEntry{{Jurisdiction: "Denver (local)", TaxAmount: decimal.NewFromInt(229), Billed: 229, Rate: decimal.RequireFromString("0.0481")}}
	in = append(in, inclusive)
	lines := StripeInvoiceLines(in, StripeSettings{CompanyName: "Acme"}, "usd", time.Time{}, time.Time{})
	if len(lines) != 2 {
		t.Fatalf("%d lines", len(lines))
	}
	l := lines[0]
	if l.LineID != CollapsedLineID || l.Amount != total || !strings.HasPrefix(l.Description, "Acme — 600 lines") || !l.PlainAmount {
		t.Fatalf("collapsed line %+v", l)
	}
	var taxSum int64
	for _, tx := range l.Taxes {
		taxSum += tx.Amount
	}
	if taxSum != tax7 {
		t.Fatalf("collapsed tax %d, want %d (the sum of the lines' tax)", taxSum, tax7)
	}
	if lines[1].LineID != CollapsedInclusiveLineID || lines[1].Amount != 5000 || !lines[1].TaxInclusive || lines[1].Taxes[0].Amount != 229 {
		t.Fatalf("inclusive line %+v", lines[1])
	}
}
