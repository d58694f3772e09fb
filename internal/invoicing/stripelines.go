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

// MaxStripeLines is Stripe's limit of line items per invoice.
const MaxStripeLines = 250

// CollapsedLineID keys the single Stripe line that carries an invoice of more than
// MaxStripeLines lines (CollapsedInclusiveLineID its tax-inclusive lines).
const (
	CollapsedLineID          = "taxflow-collapsed"
	CollapsedInclusiveLineID = "taxflow-collapsed-inclusive"
)

// StripeLineSource is one taxflow line with what its Stripe line needs.
type StripeLineSource struct {
	Line          sqldb.InvoiceLine
	ProductName   string
	StripeProduct string
	// Breakdown is the line's tax (nil: the line is written without tax, e.g. when Stripe
	// computes tax itself).
	Breakdown []tax.BreakdownEntry
}

// StripeInvoiceLines turns an invoice's lines into the lines of its Stripe invoice,
// applying Stripe's limits the way Metronome does and the account's display settings:
//
//   - zero-quantity lines of zero amount are left off unless show_zero_quantity_lines;
//   - Stripe quantities are integers: when any line has a decimal quantity, every line is
//     billed as quantity 1 at its amount, with its true quantity and unit price written in
//     the description (always_show_quantity writes them there for every line anyway);
//   - over MaxStripeLines lines, the invoice becomes one Stripe line named with the company
//     name and carrying the invoice's total, its tax summed from the real lines' tax by
//     jurisdiction (one more line for tax-inclusive lines); taxflow keeps every line.
func StripeInvoiceLines(sources []StripeLineSource, s StripeSettings, currency string, periodStart, periodEnd time.Time) []billing.Line {
	var kept []StripeLineSource
	anyDecimal := false
	for _, src := range sources {
		l := src.Line
		if !s.ShowZeroQuantityLines && l.Quantity.Valid && l.Quantity.Decimal.IsZero() && l.Amount == 0 {
			continue
		}
		if l.Quantity.Valid && !l.Quantity.Decimal.IsInteger() {
			anyDecimal = true
		}
		kept = append(kept, src)
	}
	if len(kept) > MaxStripeLines {
		return collapse(kept, s, currency, periodStart, periodEnd)
	}
	out := make([]billing.Line, 0, len(kept))
	for _, src := range kept {
		l := src.Line
		out = append(out, billing.Line{
			LineID:       l.ID,
			Description:  LineDescription(l, src.ProductName, anyDecimal || s.AlwaysShowQuantity),
			Currency:     currency,
			Amount:       l.Amount,
			TaxInclusive: l.TaxInclusive,
			Quantity:     l.Quantity,
			UnitPrice:    l.UnitPrice,
			PlainAmount:  anyDecimal,
			ProductRef:   src.StripeProduct,
			PeriodStart:  periodStart,
			PeriodEnd:    periodEnd,
			Taxes:        taxesOf(src, l.Amount, l.TaxInclusive),
		})
	}
	return out
}

func taxesOf(src StripeLineSource, amount int64, inclusive bool) []billing.LineTax {
	if src.Breakdown == nil {
		return nil
	}
	return StripeLineTaxes(amount, src.Breakdown, inclusive)
}

// collapse makes one Stripe line per tax behaviour out of many lines.
func collapse(sources []StripeLineSource, s StripeSettings, currency string, periodStart, periodEnd time.Time) []billing.Line {
	name := s.CompanyName
	if name == "" {
		name = "Usage"
	}
	type group struct {
		amount    int64
		count     int
		withTax   bool
		breakdown map[string]*tax.BreakdownEntry
		order     []string
	}
	groups := map[bool]*group{}
	for _, src := range sources {
		inclusive := src.Line.TaxInclusive
		g := groups[inclusive]
		if g == nil {
			g = &group{breakdown: map[string]*tax.BreakdownEntry{}}
			groups[inclusive] = g
		}
		g.amount += src.Line.Amount
		g.count++
		if src.Breakdown != nil {
			g.withTax = true
		}
		for _, e := range src.Breakdown {
			key := strings.Join([]string{e.Jurisdiction, e.TaxName, e.Rate.String(), e.Level, e.TaxType, e.NotTaxedReason, e.ExemptReason}, "|")
			sum, ok := g.breakdown[key]
			if !ok {
				c := e
				c.TaxableAmount, c.TaxAmount, c.Billed = decimal.Zero, decimal.Zero, 0
				sum = &c
				g.breakdown[key] = sum
				g.order = append(g.order, key)
			}
			sum.TaxableAmount = sum.TaxableAmount.Add(e.TaxableAmount)
			sum.TaxAmount = sum.TaxAmount.Add(e.TaxAmount)
			sum.Billed += e.Billed
		}
	}
	var out []billing.Line
	for _, inclusive := range []bool{false, true} {
		g := groups[inclusive]
		if g == nil {
			continue
		}
		id, label := CollapsedLineID, ""
		if inclusive {
			id, label = CollapsedInclusiveLineID, ", tax included"
		}
		l := billing.Line{
			LineID:       id,
			Description:  fmt.Sprintf("%s — %d lines%s (details in the invoice's statement)", name, g.count, label),
			Currency:     currency,
			Amount:       g.amount,
			TaxInclusive: inclusive,
			PlainAmount:  true,
			PeriodStart:  periodStart,
			PeriodEnd:    periodEnd,
		}
		if g.withTax {
			sort.Strings(g.order) // deterministic tax order, whatever the lines' order
			bd := make([]tax.BreakdownEntry, 0, len(g.order))
			for _, k := range g.order {
				bd = append(bd, *g.breakdown[k])
			}
			l.Taxes = StripeLineTaxes(g.amount, bd, inclusive)
		}
		out = append(out, l)
	}
	return out
}
