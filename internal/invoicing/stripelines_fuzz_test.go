package invoicing

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/money"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// lineBytes hands out the fuzzer's bytes as small values; past the end, zeros.
type lineBytes []byte

func (b *lineBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return v
}

func (b *lineBytes) uint32() uint32 {
	return uint32(b.next()) | uint32(b.next())<<8 | uint32(b.next())<<16 | uint32(b.next())<<24
}

// amount is a line amount the API accepts: within Stripe's maximum either way.
func (b *lineBytes) amount() int64 {
	v := int64(b.uint32() % (money.StripeMaxAmount + 1))
	if b.next()%5 == 0 {
		v = -v // a credit
	}
	return v
}

// quantity is none, an integer, a decimal, zero, or the API's extremes (15 digits, 12
// decimal places).
func (b *lineBytes) quantity() decimal.NullDecimal {
	var s string
	switch b.next() % 7 {
	case 0:
		return decimal.NullDecimal{}
	case 1:
		s = fmt.Sprint(b.uint32() % 1000)
	case 2:
		s = fmt.Sprintf("%d.%d", b.uint32()%100000, b.next())
	case 3:
		s = "0"
	case 4:
		s = "999999999999999.999999999999"
	case 5:
		s = "0.000000000001"
	default:
		s = fmt.Sprint(b.uint32())
	}
	return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
}

var fuzzDescriptions = []string{"", "Platform fee", "  ", strings.Repeat("é", 600), "Ünïcödé ✓ — 日本語", strings.Repeat("x", 499) + "€"}

// fuzzInvoice builds an invoice's lines and the engine's answer for them from the fuzzer's
// bytes: up to 300 lines (past Stripe's 250), each with up to 14 jurisdictions (past
// Stripe's 10 tax amounts), rates of 0 to 100%, and an invoice tax near the lines' or not.
func fuzzInvoice(data []byte) (sources []StripeLineSource, result tax.Result, s StripeSettings, withTax bool) {
	b := lineBytes(data)
	flags := b.next()
	s = StripeSettings{ShowZeroQuantityLines: flags&1 != 0, AlwaysShowQuantity: flags&2 != 0}.WithDefaults()
	if flags&4 != 0 {
		s.CompanyName = "Acme — ünïcode"
	}
	withTax = flags&8 == 0
	n := int(b.next()) | int(b.next()&3)<<8
	n %= 301
	var lineSum int64
	for i := range n {
		l := sqldb.InvoiceLine{ID: fmt.Sprintf("l%d", i), ProductID: "p", Amount: b.amount(), Quantity: b.quantity(), UnitPrice: b.quantity()}
		l.TaxInclusive = b.next()%4 == 0
		if d := fuzzDescriptions[int(b.next())%len(fuzzDescriptions)]; d != "" {
			l.Description = &d
		}
		src := StripeLineSource{Line: l, ProductName: "Product", StripeProduct: "prod_1"}
		lr := tax.LineResult{LineID: l.ID}
		exact := decimal.Zero
		for j := range int(b.next() % 15) {
			e := tax.BreakdownEntry{Jurisdiction: fmt.Sprintf("J%d", j%5), TaxName: "Tax", Level: "state", TaxType: "sales_tax",
				TaxableAmount: decimal.NewFromInt(l.Amount), Rate: decimal.New(int64(b.next())%101, -2)}
			if b.next()%4 == 0 {
				e.NotTaxedReason = "productNotTaxed"
			} else {
				e.TaxAmount = e.TaxableAmount.Mul(e.Rate)
			}
			exact = exact.Add(e.TaxAmount)
			lr.Breakdown = append(lr.Breakdown, e)
		}
		lr.Tax = money.RoundHalfAway(exact)
		lineSum += lr.Tax
		result.Lines = append(result.Lines, lr)
		sources = append(sources, src)
	}
	result.Tax = lineSum + int64(int8(b.next()))/16
	return sources, result, s, withTax
}

// FuzzStripeInvoiceLines checks what goes to Stripe for any invoice: at most 250 lines
// with at most 10 tax amounts each, amounts that add up to the invoice's, tax amounts that
// add up to the engine's total, rates Stripe accepts, descriptions that are whole UTF-8
// within 500 characters, one line per line id, the same lines every time — and the
// collapsed line the same whatever the order of the invoice's lines.
func FuzzStripeInvoiceLines(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 2, 0, 0x98, 0x3a, 0, 0, 1, 1, 0, 0, 1, 2, 1, 0, 1, 5, 1})
	f.Add([]byte{2, 3, 0, 1, 2, 3, 4, 1, 2, 7, 0, 0, 0, 0, 0, 3, 0, 1, 2, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
	f.Add([]byte{4, 0x04, 1, 0x10, 0x27, 0, 0, 1, 1, 1, 2, 3, 13, 5, 1, 6, 1, 7, 0, 8, 1, 9, 1, 10, 1})
	f.Add([]byte{12, 0x58, 2, 0xff, 0xff, 0xff, 0xff, 0, 6, 4, 0, 14, 100, 1, 100, 1, 100, 1, 100, 1})
	f.Add([]byte{1, 3, 0, 0, 0, 0, 0, 0, 3, 3, 1, 1, 0, 0, 0, 0, 0, 3, 3, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		sources, result, settings, withTax := fuzzInvoice(data)
		if withTax {
			if err := result.Allocate(); err != nil {
				t.Skipf("the engine's answer is refused before any line is built: %v", err)
			}
			for i := range sources {
				sources[i].Breakdown = result.Lines[i].Breakdown
				if sources[i].Breakdown == nil {
					sources[i].Breakdown = []tax.BreakdownEntry{}
				}
			}
		}
		start, end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		lines := StripeInvoiceLines(sources, settings, "usd", start, end)
		if len(lines) > MaxStripeLines {
			t.Fatalf("%d Stripe lines", len(lines))
		}
		var want, got, gotTax int64
		for _, s := range sources {
			want += s.Line.Amount
		}
		ids := map[string]bool{}
		for _, l := range lines {
			got += l.Amount
			if l.LineID == "" || ids[l.LineID] {
				t.Fatalf("line id %q empty or repeated", l.LineID)
			}
			ids[l.LineID] = true
			if !utf8.ValidString(l.Description) || utf8.RuneCountInString(l.Description) > 500 {
				t.Fatalf("line %s: description of %d bytes, valid UTF-8 %v", l.LineID, len(l.Description), utf8.ValidString(l.Description))
			}
			if len(l.Taxes) > MaxStripeTaxAmounts {
				t.Fatalf("line %s: %d tax amounts", l.LineID, len(l.Taxes))
			}
			if !withTax && l.Taxes != nil {
				t.Fatalf("line %s has taxes though none was computed", l.LineID)
			}
			for _, tx := range l.Taxes {
				gotTax += tx.Amount
				if tx.Percentage.IsNegative() || tx.Percentage.GreaterThan(decimal.NewFromInt(100)) {
					t.Fatalf("line %s: a rate of %s%%", l.LineID, tx.Percentage)
				}
			}
		}
		if got != want {
			t.Fatalf("Stripe lines add up to %d, the invoice to %d", got, want)
		}
		if withTax && gotTax != result.Tax {
			t.Fatalf("Stripe tax amounts add up to %d, the engine's total is %d", gotTax, result.Tax)
		}
		if again := StripeInvoiceLines(sources, settings, "usd", start, end); !reflect.DeepEqual(again, lines) {
			t.Fatal("the same invoice gave other Stripe lines")
		}
		if len(lines) > 0 && strings.HasPrefix(lines[0].LineID, CollapsedLineID) {
			reversed := slices.Clone(sources)
			slices.Reverse(reversed)
			if again := StripeInvoiceLines(reversed, settings, "usd", start, end); !reflect.DeepEqual(again, lines) {
				t.Fatal("the collapsed lines depend on the order of the invoice's lines")
			}
		}
	})
}
