package anroksim

import (
	"github.com/shopspring/decimal"
)

// Not-taxed reasons and exemption reasons, as Anrok names them.
const (
	reasonExempt          = "exempt"
	reasonJurisHasNoTax   = "jurisHasNoTax"
	reasonNotCollecting   = "notCollecting"
	reasonProductNotTaxed = "productNotTaxed"
	exemptReverseCharge   = "reverseCharge"
	exemptCustomerExempt  = "customerExempt"
)

// preTaxPlaces is the precision of a tax-inclusive line's backed-out pre-tax amount, in
// decimal places of the minor unit: 31000 inclusive at 4.81% is "29577.3304".
const preTaxPlaces = 4

type notTaxed struct {
	typ    string
	reason string // the exemption reason when typ is reasonExempt
}

type levyResult struct {
	name    string
	rate    decimal.Decimal
	taxable decimal.Decimal
	amount  decimal.Decimal
}

// jurisResult is one jurisdiction's treatment of a line: taxes or a not-taxed reason.
type jurisResult struct {
	juris    *jurisdiction
	taxes    []levyResult
	notTaxed *notTaxed
}

type lineResult struct {
	line   lineInput
	preTax decimal.Decimal
	// exactTax is the sum of the jurisdictions' exact taxes, before rounding.
	exactTax  decimal.Decimal
	collected int64
	jurises   []jurisResult
}

// calcResult is a computed transaction.
type calcResult struct {
	lines          []lineResult
	accountingDate string
	taxDate        string
	preTax         decimal.Decimal
	collected      int64
	inputAmount    int64
	// exactInclusive and exactExclusive split the exact tax between tax-inclusive and
	// tax-exclusive lines (the list's taxAmountDue).
	exactInclusive decimal.Decimal
	exactExclusive decimal.Decimal
}

// taxContext is what, besides the product and the jurisdiction, decides a line's
// treatment: the seller's registrations and the customer's exemptions and VAT numbers.
type taxContext struct {
	// noNexus holds the ids of jurisdictions where the seller is not registered
	// (Options.NoNexus); their states and locals are not collected either.
	noNexus map[string]bool
	// exemptStates holds the US states ("us-MA") where an exemption certificate of the
	// customer is in force on the tax date.
	exemptStates map[string]bool
	taxIDs       []taxIDInput
}

func (c *taxContext) notCollecting(j *jurisdiction) bool {
	for x := j; x != nil; x = x.parent {
		if x.notCollecting || c.noNexus[x.id] {
			return true
		}
	}
	return false
}

func (c *taxContext) customerExempt(j *jurisdiction) bool {
	st := j.usState()
	return st != "" && c.exemptStates[st]
}

// reverseCharged reports a customer holding a plausible VAT number of the VAT country j.
func (c *taxContext) reverseCharged(j *jurisdiction) bool {
	if !j.vat() {
		return false
	}
	for _, id := range c.taxIDs {
		if j.plausibleVATNumber(id.value) {
			return true
		}
	}
	return false
}

// treatment decides how a jurisdiction treats a product. The order matters: a
// jurisdiction without tax, or where the seller does not collect, never reaches the
// customer's exemption or the product's category; an exempt customer needs no rule for a
// custom category; a product that is not taxed has no VAT to reverse-charge.
// unsupported reports a custom tax category the jurisdiction has no rule for.
func treatment(j *jurisdiction, p Product, ctx *taxContext) (levies []levy, nt *notTaxed, unsupported bool) {
	switch {
	case j.hasNoTax:
		return nil, &notTaxed{typ: reasonJurisHasNoTax}, false
	case ctx.notCollecting(j):
		return nil, &notTaxed{typ: reasonNotCollecting}, false
	case ctx.customerExempt(j):
		return nil, &notTaxed{typ: reasonExempt, reason: exemptCustomerExempt}, false
	case p.TaxCategory.Type == TaxCategoryCustom:
		return nil, nil, true
	}
	l, taxed := j.levyFor(categoryColumn(p))
	switch {
	case !taxed:
		return nil, &notTaxed{typ: reasonProductNotTaxed}, false
	case ctx.reverseCharged(j):
		return nil, &notTaxed{typ: reasonExempt, reason: exemptReverseCharge}, false
	default:
		return []levy{l}, nil, false
	}
}

// computeLine taxes one line in its jurisdictions.
//
// A tax-exclusive line is taxed on its amount. A tax-inclusive line first backs the tax
// out: preTax = amount / (1 + Σ share×rate), rounded half away from zero to preTaxPlaces.
// Each tax is then exactly taxableAmount × taxRate, with taxableAmount = preTax × share, so
// every figure Anrok shows can be recomputed from the others. The line's
// taxAmountToCollect is the sum of those exact taxes rounded half away from zero to an
// integer.
func computeLine(li lineInput, p Product, jurises []*jurisdiction, ctx *taxContext) (lineResult, bool) {
	amount := decimal.NewFromInt(li.amount)
	type decided struct {
		levies   []levy
		notTaxed *notTaxed
	}
	decisions := make([]decided, len(jurises))
	totalRate := decimal.Zero
	for i, j := range jurises {
		levies, nt, unsupported := treatment(j, p, ctx)
		if unsupported {
			return lineResult{}, false
		}
		decisions[i] = decided{levies, nt}
		for _, l := range levies {
			totalRate = totalRate.Add(l.share.Mul(l.rate))
		}
	}

	preTax := amount
	if li.taxIncluded && !totalRate.IsZero() {
		preTax = amount.DivRound(decimal.NewFromInt(1).Add(totalRate), preTaxPlaces)
	}

	res := lineResult{line: li, preTax: preTax, exactTax: decimal.Zero}
	for i, j := range jurises {
		jr := jurisResult{juris: j, notTaxed: decisions[i].notTaxed}
		for _, l := range decisions[i].levies {
			taxable := preTax.Mul(l.share)
			tax := taxable.Mul(l.rate)
			jr.taxes = append(jr.taxes, levyResult{name: l.taxName, rate: l.rate, taxable: taxable, amount: tax})
			res.exactTax = res.exactTax.Add(tax)
		}
		res.jurises = append(res.jurises, jr)
	}
	res.collected = roundHalfAwayFromZero(res.exactTax)
	return res, true
}

// roundHalfAwayFromZero is Anrok's rounding of a line's tax: 721.5 → 722, -721.5 → -722.
func roundHalfAwayFromZero(d decimal.Decimal) int64 {
	// decimal.Round rounds halves away from zero.
	return d.Round(0).IntPart()
}

// total adds up a transaction from its lines: the transaction's taxAmountToCollect is
// the sum of the lines' rounded amounts, never a rounding of the exact total, so it always
// equals what the lines show.
func total(lines []lineResult, accountingDate, taxDate string) calcResult {
	r := calcResult{
		lines:          lines,
		accountingDate: accountingDate,
		taxDate:        taxDate,
		preTax:         decimal.Zero,
		exactInclusive: decimal.Zero,
		exactExclusive: decimal.Zero,
	}
	for _, l := range lines {
		r.preTax = r.preTax.Add(l.preTax)
		r.collected += l.collected
		r.inputAmount += l.line.amount
		if l.line.taxIncluded {
			r.exactInclusive = r.exactInclusive.Add(l.exactTax)
		} else {
			r.exactExclusive = r.exactExclusive.Add(l.exactTax)
		}
	}
	return r
}

// negate returns the exact inverse of a computed transaction: what createNegation records.
// Every figure is negated rather than recomputed, so the pair nets to zero even if rates
// changed in between.
func (r calcResult) negate() calcResult {
	lines := make([]lineResult, len(r.lines))
	for i, l := range r.lines {
		nl := lineResult{
			line:      l.line,
			preTax:    l.preTax.Neg(),
			exactTax:  l.exactTax.Neg(),
			collected: -l.collected,
		}
		nl.line.amount = -l.line.amount
		for _, j := range l.jurises {
			nj := jurisResult{juris: j.juris, notTaxed: j.notTaxed}
			for _, t := range j.taxes {
				nj.taxes = append(nj.taxes, levyResult{name: t.name, rate: t.rate, taxable: t.taxable.Neg(), amount: t.amount.Neg()})
			}
			nl.jurises = append(nl.jurises, nj)
		}
		lines[i] = nl
	}
	return total(lines, r.accountingDate, r.taxDate)
}

// summaries lists every jurisdiction of the transaction once, in order of first
// appearance, with the distinct reasons it did not tax some line.
func (r calcResult) summaries() []jurisSummaryWire {
	var out []jurisSummaryWire
	index := map[string]int{}
	for _, l := range r.lines {
		for _, j := range l.jurises {
			i, seen := index[j.juris.id]
			if !seen {
				i = len(out)
				index[j.juris.id] = i
				out = append(out, jurisSummaryWire{JurisID: j.juris.id, Name: j.juris.name, NotTaxedReasons: []notTaxedWire{}})
			}
			if j.notTaxed == nil {
				continue
			}
			w := j.notTaxed.wire()
			dup := false
			for _, existing := range out[i].NotTaxedReasons {
				if existing.equal(w) {
					dup = true
					break
				}
			}
			if !dup {
				out[i].NotTaxedReasons = append(out[i].NotTaxedReasons, w)
			}
		}
	}
	if out == nil {
		out = []jurisSummaryWire{}
	}
	return out
}
