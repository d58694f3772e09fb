package tax

import (
	"testing"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestAllocateBillsAnroksIntegerTaxPerJurisdiction(t *testing.T) {
	r := Result{Tax: 722, Lines: []LineResult{{LineID: "l1", Tax: 722, Breakdown: []BreakdownEntry{
		{Jurisdiction: "Colorado", NotTaxedReason: "productNotTaxed"},
		{Jurisdiction: "Denver (local)", TaxAmount: dec("721.5"), Rate: dec("0.0481")},
	}}}}
	if err := r.Allocate(); err != nil {
		t.Fatal(err)
	}
	if got := r.Lines[0].Breakdown[1].Billed; got != 722 {
		t.Fatalf("Denver billed %d, want 722", got)
	}
	if got := r.Lines[0].Breakdown[0].Billed; got != 0 {
		t.Fatalf("Colorado billed %d, want 0", got)
	}
}

func TestAllocateMakesLinesAddUpToTheFiledTotal(t *testing.T) {
	// Two lines each 721.5 exact, each rounded up by the engine, but a total filed as 1443.
	mk := func(id string) LineResult {
		return LineResult{LineID: id, Tax: 722, Breakdown: []BreakdownEntry{{TaxAmount: dec("721.5")}}}
	}
	r := Result{Tax: 1443, Lines: []LineResult{mk("a"), mk("b")}}
	if err := r.Allocate(); err != nil {
		t.Fatal(err)
	}
	sum := r.Lines[0].Tax + r.Lines[1].Tax
	billed := r.Lines[0].Breakdown[0].Billed + r.Lines[1].Breakdown[0].Billed
	if sum != 1443 || billed != 1443 {
		t.Fatalf("lines %d, billed %d, want 1443", sum, billed)
	}
}

func TestAllocateRefusesTaxWithoutBreakdown(t *testing.T) {
	r := Result{Tax: 5, Lines: []LineResult{{LineID: "x", Tax: 5}}}
	if err := r.Allocate(); err == nil {
		t.Fatal("tax without a breakdown was accepted")
	}
}

// A line's tax with no exact amount to weigh by goes to a jurisdiction that taxes, never to
// one that does not (whose zero Stripe may leave off a line with ten taxes already).
func TestAllocateNeverBillsAJurisdictionThatDoesNotTax(t *testing.T) {
	r := Result{Tax: 1, Lines: []LineResult{{LineID: "l1", Tax: 0, Breakdown: []BreakdownEntry{
		{Jurisdiction: "Colorado", NotTaxedReason: "productNotTaxed"},
		{Jurisdiction: "Denver (local)", Rate: dec("0.0481")},
	}}}}
	if err := r.Allocate(); err != nil {
		t.Fatal(err)
	}
	if bd := r.Lines[0].Breakdown; bd[0].Billed != 0 || bd[1].Billed != 1 {
		t.Fatalf("billed %d and %d, want 0 and 1", bd[0].Billed, bd[1].Billed)
	}
	untaxed := Result{Tax: 1, Lines: []LineResult{{LineID: "l1", Tax: 1, Breakdown: []BreakdownEntry{{Jurisdiction: "Colorado", NotTaxedReason: "productNotTaxed"}}}}}
	if err := untaxed.Allocate(); err == nil {
		t.Fatal("tax on a line no jurisdiction taxes was accepted")
	}
}
