package money

import (
	"errors"
	"sort"

	"github.com/shopspring/decimal"
)

func sortStrings(s []string) { sort.Strings(s) }

// RoundHalfAway rounds d to an integer, halves away from zero (721.5 → 722, -721.5 → -722):
// the rule Anrok applies to a line's taxAmountToCollect.
func RoundHalfAway(d decimal.Decimal) int64 {
	// decimal.Round rounds half away from zero.
	return d.Round(0).IntPart()
}

// ErrAllocation is returned when an allocation is impossible (no parts for a non-zero total).
var ErrAllocation = errors.New("money: cannot allocate a non-zero total over no parts")

// Allocate splits total (integer minor units) over parts in proportion to their exact
// (fractional) values so that the results sum to total exactly: taxflow's one rounding
// rule. Each part first gets its value rounded toward zero; the remaining units go one by one
// to the parts with the largest fractional remainders (ties: the earlier part). When the
// parts' exact sum differs from total (the engine rounded elsewhere), the difference is
// spread the same way over the parts' magnitudes.
func Allocate(total int64, parts []decimal.Decimal) ([]int64, error) {
	out := make([]int64, len(parts))
	if len(parts) == 0 {
		if total != 0 {
			return nil, ErrAllocation
		}
		return out, nil
	}
	exactSum := decimal.Zero
	for _, p := range parts {
		exactSum = exactSum.Add(p)
	}
	// Scale the parts so they sum to total exactly, when they do not already.
	scaled := parts
	if !exactSum.Equal(decimal.NewFromInt(total)) {
		if exactSum.IsZero() {
			// Nothing to be proportional to: the whole difference goes to the first part.
			out[0] = total
			return out, nil
		}
		factor := decimal.NewFromInt(total)
		scaled = make([]decimal.Decimal, len(parts))
		for i, p := range parts {
			scaled[i] = p.Mul(factor).DivRound(exactSum, 12)
		}
	}
	type rem struct {
		i int
		r decimal.Decimal
	}
	var sum int64
	rems := make([]rem, len(scaled))
	for i, p := range scaled {
		whole := p.Truncate(0)
		out[i] = whole.IntPart()
		sum += out[i]
		rems[i] = rem{i, p.Sub(whole)}
	}
	left := total - sum
	step := int64(1)
	if left < 0 {
		step = -1
		// Give back units from the most negative remainders first.
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].r.LessThan(rems[b].r) })
	} else {
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].r.GreaterThan(rems[b].r) })
	}
	for k := 0; left != 0; k++ {
		out[rems[k%len(rems)].i] += step
		left -= step
	}
	return out, nil
}
