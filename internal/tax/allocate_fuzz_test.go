package tax

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/shopspring/decimal"
)

// fuzzBytes hands out the fuzzer's bytes as small values; past the end, zeros.
type fuzzBytes []byte

func (b *fuzzBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	v := (*b)[0]
	*b = (*b)[1:]
	return v
}

// amount reads a signed amount of up to 5 bytes (±549,755,813,887 minor units): an engine's
// tax is never near int64's limits.
func (b *fuzzBytes) amount() int64 {
	var buf [8]byte
	for i := range 5 {
		buf[i] = b.next()
	}
	v := int64(binary.LittleEndian.Uint64(buf[:]))
	if b.next()&1 == 1 {
		v = -v
	}
	return v
}

// exact reads an engine's fractional tax: an amount with 0 to 6 decimal places.
func (b *fuzzBytes) exact() decimal.Decimal {
	return decimal.New(b.amount(), -int32(b.next()%7))
}

// fuzzResult builds an engine answer from the fuzzer's bytes: up to 40 lines of up to 12
// breakdown entries, some of them not taxed (zero, as Anrok answers them), and line and
// invoice totals near the exact sums, or anywhere.
func fuzzResult(data []byte) Result {
	b := fuzzBytes(data)
	var r Result
	var lineSum int64
	for i := range int(b.next() % 40) {
		l := LineResult{LineID: fmt.Sprintf("l%d", i)}
		exact := decimal.Zero
		for j := range int(b.next() % 13) {
			e := BreakdownEntry{Jurisdiction: fmt.Sprintf("j%d", j)}
			if b.next()%4 == 0 {
				e.NotTaxedReason = "productNotTaxed"
			} else {
				e.TaxAmount = b.exact()
			}
			exact = exact.Add(e.TaxAmount)
			l.Breakdown = append(l.Breakdown, e)
		}
		switch b.next() % 3 {
		case 0: // the engine rounded the line itself
			l.Tax = exact.Round(0).IntPart()
		case 1:
			l.Tax = exact.Round(0).IntPart() + int64(int8(b.next()))
		default:
			l.Tax = b.amount()
		}
		lineSum += l.Tax
		r.Lines = append(r.Lines, l)
	}
	switch b.next() % 3 {
	case 0:
		r.Tax = lineSum
	case 1:
		r.Tax = lineSum + int64(int8(b.next()))
	default:
		r.Tax = b.amount()
	}
	return r
}

func cloneResult(r Result) Result {
	c := r
	c.Lines = make([]LineResult, len(r.Lines))
	for i, l := range r.Lines {
		c.Lines[i] = l
		c.Lines[i].Breakdown = append([]BreakdownEntry(nil), l.Breakdown...)
	}
	return c
}

// FuzzResultAllocate checks how an engine's answer becomes the integer amounts taxflow
// bills: the lines add up to the invoice's tax, each line's entries to the line's tax, a
// jurisdiction with no exact tax gets nothing (unless none of its line's has any: then the
// first that taxes gets it all), a jurisdiction that does not tax never gets any, line
// taxes the engine already made add up are kept, signs are kept, and the result is the same
// every time. The only refusal is tax on a line with no jurisdiction to bill it to.
func FuzzResultAllocate(f *testing.F) {
	f.Add([]byte{})
	// One line, Denver's example: Colorado not taxed, Denver 721.5 → 722.
	f.Add([]byte{1, 2, 0, 1, 0xd3, 0x1c, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{3, 2, 1, 10, 0, 0, 0, 0, 0, 1, 1, 20, 0, 0, 0, 0, 0, 1, 1, 5, 4, 0, 3, 0, 0, 0, 0, 0, 0, 2, 9, 0, 0, 0, 0, 0, 0, 1, 0xff})
	f.Add([]byte{39, 12, 1, 200, 1, 0, 0, 0, 0, 6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 2, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x7f, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzResult(data)
		r := cloneResult(in)
		err := r.Allocate()
		again := cloneResult(in)
		errAgain := again.Allocate()
		if (err == nil) != (errAgain == nil) {
			t.Fatalf("not deterministic: %v then %v", err, errAgain)
		}
		if err != nil {
			// The refusals: tax on a line without a jurisdiction that taxes it (after the
			// lines were made to add up), or an invoice tax with no line to carry it.
			for _, l := range r.Lines {
				taxing := slices.IndexFunc(l.Breakdown, func(e BreakdownEntry) bool { return e.NotTaxedReason == "" || !e.TaxAmount.IsZero() })
				if taxing < 0 && l.Tax != 0 {
					return
				}
			}
			if len(r.Lines) == 0 && r.Tax != 0 {
				return
			}
			t.Fatalf("refused %+v: %v", in, err)
		}
		var lineSum, origSum int64
		for _, l := range in.Lines {
			origSum += l.Tax
		}
		for i, l := range r.Lines {
			lineSum += l.Tax
			if origSum == in.Tax && l.Tax != in.Lines[i].Tax {
				t.Fatalf("line %d: the engine's lines added up, yet its tax %d became %d", i, in.Lines[i].Tax, l.Tax)
			}
			var billed int64
			anyExact, nonNegative, nonPositive := false, true, true
			for _, e := range l.Breakdown {
				billed += e.Billed
				anyExact = anyExact || !e.TaxAmount.IsZero()
				nonNegative = nonNegative && e.TaxAmount.Sign() >= 0
				nonPositive = nonPositive && e.TaxAmount.Sign() <= 0
			}
			if len(l.Breakdown) > 0 && billed != l.Tax {
				t.Fatalf("line %d: entries billed %d, line tax %d", i, billed, l.Tax)
			}
			firstTaxing := slices.IndexFunc(l.Breakdown, func(e BreakdownEntry) bool { return e.NotTaxedReason == "" })
			for j, e := range l.Breakdown {
				if e.TaxAmount.IsZero() && e.Billed != 0 && (anyExact || j != firstTaxing) {
					t.Fatalf("line %d entry %d has no exact tax but is billed %d", i, j, e.Billed)
				}
				if e.NotTaxedReason != "" && e.TaxAmount.IsZero() && e.Billed != 0 {
					t.Fatalf("line %d entry %d does not tax the line but is billed %d", i, j, e.Billed)
				}
				if e.Billed != again.Lines[i].Breakdown[j].Billed {
					t.Fatalf("not deterministic: line %d entry %d billed %d then %d", i, j, e.Billed, again.Lines[i].Breakdown[j].Billed)
				}
				if (l.Tax >= 0 && nonNegative && e.Billed < 0) || (l.Tax <= 0 && nonPositive && e.Billed > 0) {
					t.Fatalf("line %d (tax %d) entry %d (exact %s) billed %d, against every sign", i, l.Tax, j, e.TaxAmount, e.Billed)
				}
			}
		}
		if len(r.Lines) > 0 && lineSum != r.Tax {
			t.Fatalf("lines add up to %d, the invoice's tax is %d", lineSum, r.Tax)
		}
	})
}
