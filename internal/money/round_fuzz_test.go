package money

import (
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// maxFuzzMagnitude bounds the fuzzed amounts: money in minor units, far from int64's limits
// even summed over every part (an engine's tax is never near them).
const maxFuzzMagnitude = 1_000_000_000_000_000

// fuzzParts reads comma-separated decimals, skipping what is not one, what is beyond
// maxFuzzMagnitude, and exponents an engine never sends (decimal arithmetic on 1e-999999
// would only measure the decimal library).
func fuzzParts(s string) []decimal.Decimal {
	var parts []decimal.Decimal
	limit := decimal.NewFromInt(maxFuzzMagnitude)
	for _, f := range strings.Split(s, ",") {
		p, err := decimal.NewFromString(strings.TrimSpace(f))
		if err != nil || p.Exponent() < -30 || p.Exponent() > 30 || p.Abs().GreaterThan(limit) {
			continue
		}
		parts = append(parts, p)
		if len(parts) == 1000 {
			break
		}
	}
	return parts
}

// FuzzAllocate checks the rounding rule's invariants on any total and parts: the results
// add up to the total exactly, a part with no exact value gets nothing (unless no part has
// one), no part is pushed past zero against its sign when another part could take the unit,
// every part stays within one unit of its exact value when the total is the rounded sum of
// same-signed parts, and the same input always gives the same output.
func FuzzAllocate(f *testing.F) {
	f.Add(int64(722), "0,721.5")
	f.Add(int64(10), "3.3,3.3,3.4")
	f.Add(int64(1443), "721.5,721.5")
	f.Add(int64(-722), "0,-721.5")
	f.Add(int64(1), "0,0")
	f.Add(int64(1), "100.4,-100")
	f.Add(int64(3), "0,1.2,1.2")
	f.Add(int64(0), "0.5,1.5")
	f.Add(int64(-1), "0.5,0.5")
	f.Add(int64(1_000_000_000_001), "0.2,0.7,0")
	f.Add(int64(5), "")
	f.Add(int64(-3), "1.000000000001,-2.999999999999,0.5")
	f.Fuzz(func(t *testing.T, total int64, partsText string) {
		if total > maxFuzzMagnitude || total < -maxFuzzMagnitude {
			return
		}
		parts := fuzzParts(partsText)
		got, err := Allocate(total, parts)
		if len(parts) == 0 {
			if (err != nil) != (total != 0) {
				t.Fatalf("no parts, total %d: error %v", total, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Allocate(%d, %v): %v", total, parts, err)
		}
		again, _ := Allocate(total, parts)
		var sum int64
		anyValue, allPositive, allNegative := false, true, true
		exact := decimal.Zero
		for i, p := range parts {
			sum += got[i]
			if again[i] != got[i] {
				t.Fatalf("not deterministic: %v then %v", got, again)
			}
			anyValue = anyValue || !p.IsZero()
			allPositive = allPositive && p.Sign() >= 0
			allNegative = allNegative && p.Sign() <= 0
			exact = exact.Add(p)
		}
		if sum != total {
			t.Fatalf("Allocate(%d, %v) = %v sums to %d", total, parts, got, sum)
		}
		for i, p := range parts {
			if p.IsZero() && got[i] != 0 && (anyValue || i != 0) {
				t.Fatalf("part %d has no exact value but got %d: %v over %v", i, got[i], got, parts)
			}
			crossed := (p.Sign() > 0 && got[i] < 0) || (p.Sign() < 0 && got[i] > 0)
			// Crossing is allowed only when every part has that same sign, so that no other
			// part could have taken the unit.
			if crossed && !((p.Sign() > 0 && allPositive) || (p.Sign() < 0 && allNegative)) {
				t.Fatalf("part %d (%s) got %d though another part could take the unit: %v over %v", i, p, got[i], got, parts)
			}
		}
		if total >= 0 && allPositive || total <= 0 && allNegative {
			for i := range got {
				if (total >= 0 && allPositive && got[i] < 0) || (total <= 0 && allNegative && got[i] > 0) {
					t.Fatalf("part %d got %d against the sign of the total %d and of every part: %v over %v", i, got[i], total, got, parts)
				}
			}
		}
		if (allPositive || allNegative) && exact.Sub(decimal.NewFromInt(total)).Abs().LessThan(decimal.NewFromInt(1)) {
			for i, p := range parts {
				if decimal.NewFromInt(got[i]).Sub(p).Abs().GreaterThanOrEqual(decimal.NewFromInt(1)) {
					t.Fatalf("part %d (%s) got %d, a unit or more away, though the total %d is within a unit of the exact sum %s: %v", i, p, got[i], total, exact, got)
				}
			}
		}
	})
}
