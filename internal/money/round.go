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

// Allocate splits total (integer minor units) over parts (their exact, fractional values)
// so that the results sum to total exactly: taxflow's one rounding rule. Each part first gets
// its value truncated toward zero; the units left over (positive or negative) go one at a
// time to the parts with the largest remainders in their direction (ties: the earlier part),
// and only to parts whose exact value is not zero — a jurisdiction that taxes nothing never
// receives a unit. When no part has a value, the whole total goes to the first part.
func Allocate(total int64, parts []decimal.Decimal) ([]int64, error) {
	out := make([]int64, len(parts))
	if len(parts) == 0 {
		if total != 0 {
			return nil, ErrAllocation
		}
		return out, nil
	}
	type rem struct {
		i int
		r decimal.Decimal
	}
	var sum int64
	var rems []rem
	for i, p := range parts {
		whole := p.Truncate(0)
		out[i] = whole.IntPart()
		sum += out[i]
		if !p.IsZero() {
			rems = append(rems, rem{i, p.Sub(whole)})
		}
	}
	left := total - sum
	if len(rems) == 0 {
		out[0] += left
		return out, nil
	}
	step := int64(1)
	if left < 0 {
		step = -1
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
