package money

import (
	"errors"
	"math"
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
// receives a unit. A unit taken back never pushes a part past zero, against the sign of its
// exact value, while another part can take it (a jurisdiction that taxes is never billed a
// negative amount on a positive total). When no part has a value, the whole total goes to
// the first part.
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
	// room is how many units part i can take in the direction of step: as many as wanted
	// away from zero, down to zero toward it.
	room := func(i int) int64 {
		if (step > 0) == parts[i].IsPositive() {
			return math.MaxInt64
		}
		return abs(out[i])
	}
	for left != 0 {
		open := make([]int, 0, len(rems))
		for _, r := range rems {
			if room(r.i) > 0 {
				open = append(open, r.i)
			}
		}
		bounded := true
		if len(open) == 0 {
			// The total's sign is against every part's: some part has to cross zero.
			bounded = false
			for _, r := range rems {
				open = append(open, r.i)
			}
		}
		// Whole rounds at once — what going round the parts one unit at a time would give —
		// so that a large difference costs a pass, not a step per unit.
		if rounds := abs(left) / int64(len(open)); rounds > 0 {
			for _, i := range open {
				n := rounds
				if bounded {
					n = min(n, room(i))
				}
				out[i] += step * n
				left -= step * n
			}
			continue
		}
		for _, i := range open[:abs(left)] {
			out[i] += step
		}
		left = 0
	}
	return out, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
