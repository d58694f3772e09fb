package stripebilling

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/money"
)

// apiDecimal is what the API lets into a quantity or a unit price (starter/api's
// decimalPattern, without the sign of a quantity).
var apiDecimal = regexp.MustCompile(`^[0-9]{1,15}(\.[0-9]{1,12})?$`)

// FuzzAddLineParams checks the parameters of one Stripe line for any amount, quantity and
// unit price the API accepts: either a price (a positive integer quantity and a unit amount
// of at most 12 decimal places that multiply back to the amount exactly) or the plain
// amount, never both; and tax rate data Stripe accepts (whole UTF-8, a name of at most 100
// characters and a jurisdiction of at most 200, a percentage of at most 4 decimal places).
func FuzzAddLineParams(f *testing.F) {
	f.Add(int64(15000), "3", "5000", false, true, "Sales tax (Denver (local))", "4.81")
	f.Add(int64(100), "3", "", false, true, "", "0")
	f.Add(int64(250), "12.5", "20", true, true, "VAT", "20")
	f.Add(int64(-5), "", "", false, true, "Tax", "0")
	f.Add(int64(0), "999999999999999", "0", false, true, "Tax", "100")
	f.Add(int64(99_999_999), "999999999999999.999999999999", "0.000000000001", false, false, "", "7.25")
	f.Add(int64(7), "7", "1", false, true, strings.Repeat("x", 99)+"ü€", "33.33333")
	f.Fuzz(func(t *testing.T, amount int64, quantity, unitPrice string, plain, mapped bool, name, percentage string) {
		if amount > money.StripeMaxAmount || amount < -money.StripeMaxAmount {
			return
		}
		l := billing.Line{LineID: "l1", Description: "d", Currency: "usd", Amount: amount, PlainAmount: plain}
		if mapped {
			l.ProductRef = "prod_1"
		}
		for _, in := range []struct {
			s   string
			dst *decimal.NullDecimal
		}{{quantity, &l.Quantity}, {unitPrice, &l.UnitPrice}} {
			if in.s == "" {
				continue
			}
			if !apiDecimal.MatchString(in.s) {
				return
			}
			*in.dst = decimal.NullDecimal{Decimal: decimal.RequireFromString(in.s), Valid: true}
		}
		pct, err := decimal.NewFromString(percentage)
		if err != nil || pct.IsNegative() || pct.GreaterThan(decimal.NewFromInt(100)) || pct.Exponent() < -12 {
			return
		}
		l.Taxes = []billing.LineTax{{Amount: 1, DisplayName: name, Jurisdiction: name + name, Percentage: pct}}

		p := addLineParams(l)
		extra := unitAmountDecimal(l)
		switch {
		case p.PriceData != nil && p.Amount != nil:
			t.Fatalf("both a price and an amount: %+v", p)
		case p.PriceData != nil:
			if p.Quantity == nil || *p.Quantity < 1 {
				t.Fatalf("price with quantity %v", p.Quantity)
			}
			unit, err := decimal.NewFromString(extra)
			if err != nil {
				t.Fatalf("unit amount %q: %v", extra, err)
			}
			if unit.Exponent() < -12 {
				t.Fatalf("unit amount %s has more than 12 decimal places", unit)
			}
			if !unit.Mul(decimal.NewFromInt(*p.Quantity)).Equal(decimal.NewFromInt(amount)) {
				t.Fatalf("%d × %s is not the amount %d", *p.Quantity, unit, amount)
			}
		case p.Amount != nil:
			if *p.Amount != amount || extra != "" {
				t.Fatalf("plain amount %d (extra %q), want %d", *p.Amount, extra, amount)
			}
		default:
			t.Fatal("neither a price nor an amount")
		}
		if len(p.TaxAmounts) != 1 {
			t.Fatalf("%d tax amounts", len(p.TaxAmounts))
		}
		rd := p.TaxAmounts[0].TaxRateData
		if n := *rd.DisplayName; n == "" || utf8.RuneCountInString(n) > 100 || (utf8.ValidString(name) && !utf8.ValidString(n)) {
			t.Fatalf("display name %q (%d characters) from %q", n, utf8.RuneCountInString(n), name)
		}
		if j := rd.Jurisdiction; j != nil && (utf8.RuneCountInString(*j) > 200 || (utf8.ValidString(name) && !utf8.ValidString(*j))) {
			t.Fatalf("jurisdiction %q (%d characters) from %q", *j, utf8.RuneCountInString(*j), name)
		}
		if got := decimal.NewFromFloat(*rd.Percentage); got.Sub(pct.Round(4)).Abs().GreaterThan(decimal.New(1, -9)) {
			t.Fatalf("percentage %v for %s", *rd.Percentage, pct)
		}
	})
}
