package money

import (
	"testing"

	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestRoundHalfAwayMatchesAnroksCollectedTax(t *testing.T) {
	for in, want := range map[string]int64{"721.5": 722, "-721.5": -722, "721.49": 721, "0.5": 1, "0": 0} {
		if got := RoundHalfAway(d(in)); got != want {
			t.Errorf("RoundHalfAway(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestAllocateSumsExactlyToTheTotal(t *testing.T) {
	cases := []struct {
		name  string
		total int64
		parts []string
		want  []int64
	}{
		{"denver: one taxed jurisdiction", 722, []string{"0", "721.5"}, []int64{0, 722}},
		{"largest remainder wins the unit", 10, []string{"3.3", "3.3", "3.4"}, []int64{3, 3, 4}},
		{"parts already integral", 300, []string{"100", "200"}, []int64{100, 200}},
		{"engine rounded the total down", 1443, []string{"721.5", "721.5"}, []int64{722, 721}},
		{"credits allocate negatively", -722, []string{"0", "-721.5"}, []int64{0, -722}},
		{"no exact tax, total goes first", 1, []string{"0", "0"}, []int64{1, 0}},
		{"a credit does not inflate its neighbour", 1, []string{"100.4", "-100"}, []int64{101, -100}},
		{"untaxed jurisdictions never get a unit", 3, []string{"0", "1.2", "1.2"}, []int64{0, 2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts := make([]decimal.Decimal, len(c.parts))
			for i, p := range c.parts {
				parts[i] = d(p)
			}
			got, err := Allocate(c.total, parts)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for i := range got {
				sum += got[i]
				if got[i] != c.want[i] {
					t.Errorf("part %d = %d, want %d (all %v)", i, got[i], c.want[i], got)
				}
			}
			if sum != c.total {
				t.Errorf("sum %d != total %d", sum, c.total)
			}
		})
	}
	if _, err := Allocate(5, nil); err == nil {
		t.Error("allocating 5 over no parts must fail")
	}
}

func TestCurrencyLookupIsCaseInsensitiveAndKnowsStripeMinimums(t *testing.T) {
	c, ok := LookupCurrency("USD")
	if !ok || c.Exponent != 2 || c.StripeMinimum != 50 {
		t.Fatalf("USD = %+v %v", c, ok)
	}
	if c, _ := LookupCurrency("jpy"); c.Exponent != 0 {
		t.Fatalf("JPY exponent = %d", c.Exponent)
	}
	if _, ok := LookupCurrency("xyz"); ok {
		t.Fatal("xyz accepted")
	}
}

// A unit taken back goes to a part that still has one: a jurisdiction that taxes is never
// billed a negative amount when the total is not negative.
func TestAllocateNeverTakesATaxingPartBelowZero(t *testing.T) {
	cases := []struct {
		name  string
		total int64
		parts []string
		want  []int64
	}{
		{"the unit comes off the part that has one", 0, []string{"0.5", "1.5"}, []int64{0, 0}},
		{"credits: the mirror image", 0, []string{"-0.5", "-1.5"}, []int64{0, 0}},
		{"several units off the parts that have them", 1, []string{"0.9", "0.9", "2.9"}, []int64{0, 0, 1}},
		{"a total against every part's sign has to cross zero", -1, []string{"0.5", "0.5"}, []int64{-1, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parts := make([]decimal.Decimal, len(c.parts))
			for i, p := range c.parts {
				parts[i] = d(p)
			}
			got, err := Allocate(c.total, parts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// A difference far larger than the number of parts is spread in whole rounds, as going
// round the parts a unit at a time would, and is not counted out unit by unit.
func TestAllocateSpreadsALargeDifferenceInWholeRounds(t *testing.T) {
	got, err := Allocate(1_000_000_000_001, []decimal.Decimal{d("0.2"), d("0.7"), d("0")})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 500_000_000_000 || got[1] != 500_000_000_001 || got[2] != 0 {
		t.Fatalf("got %v", got)
	}
}
