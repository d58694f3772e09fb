package tax

import (
	"fmt"
	"slices"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/money"
)

// Allocate fills in the integer amounts taxflow bills, by money.Allocate (largest
// remainder), so that Stripe's tax and the engine's agree to the minor unit:
//
//   - the invoice's tax is the engine's integer total (r.Tax), as filed;
//   - each line's tax is the engine's integer line tax; if the lines do not add up to the
//     total, the difference is spread over the lines in proportion to their exact tax;
//   - within a line, the line's tax is spread over its jurisdictions' taxes in proportion
//     to their exact (fractional) amounts (BreakdownEntry.Billed); when none has an exact
//     amount, it goes to the first jurisdiction that taxes the line.
func (r *Result) Allocate() error {
	lineExact := make([]decimal.Decimal, len(r.Lines))
	var lineSum int64
	for i, l := range r.Lines {
		lineSum += l.Tax
		exact := decimal.Zero
		for _, e := range l.Breakdown {
			exact = exact.Add(e.TaxAmount)
		}
		if exact.IsZero() {
			exact = decimal.NewFromInt(l.Tax)
		}
		lineExact[i] = exact
	}
	if lineSum != r.Tax {
		shares, err := money.Allocate(r.Tax, lineExact)
		if err != nil {
			return fmt.Errorf("allocate invoice tax %d over %d lines: %w", r.Tax, len(r.Lines), err)
		}
		for i := range r.Lines {
			r.Lines[i].Tax = shares[i]
		}
	}
	for i := range r.Lines {
		l := &r.Lines[i]
		if len(l.Breakdown) == 0 {
			if l.Tax != 0 {
				return fmt.Errorf("line %s: tax %d without a jurisdiction breakdown", l.LineID, l.Tax)
			}
			continue
		}
		parts := make([]decimal.Decimal, len(l.Breakdown))
		exact := false
		for j, e := range l.Breakdown {
			parts[j] = e.TaxAmount
			exact = exact || !e.TaxAmount.IsZero()
		}
		if !exact && l.Tax != 0 {
			// No exact tax to weigh by: the line's tax goes to its first jurisdiction that
			// taxes, never to one that does not (Stripe's line may have no room left for
			// those, and their tax would be lost).
			k := slices.IndexFunc(l.Breakdown, func(e BreakdownEntry) bool { return e.NotTaxedReason == "" })
			if k < 0 {
				return fmt.Errorf("line %s: tax %d, but no jurisdiction taxes the line", l.LineID, l.Tax)
			}
			for j := range l.Breakdown {
				l.Breakdown[j].Billed = 0
			}
			l.Breakdown[k].Billed = l.Tax
			continue
		}
		billed, err := money.Allocate(l.Tax, parts)
		if err != nil {
			return fmt.Errorf("line %s: %w", l.LineID, err)
		}
		for j := range l.Breakdown {
			l.Breakdown[j].Billed = billed[j]
		}
	}
	return nil
}
