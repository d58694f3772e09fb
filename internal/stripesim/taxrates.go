package stripesim

import (
	"encoding/json"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/stripe/stripe-go/v82"
)

// taxRate is a Stripe TaxRate. The simulator creates them only from tax_amounts'
// tax_rate_data, the way Stripe does: archived at once (active false), reused for an
// identical tax_rate_data, and referenced from lines and invoice totals by id.
type taxRate struct {
	id      string
	data    taxRateData
	active  bool
	created int64
}

// taxRateData is the description of a tax that tax_rate_data carries. Only the line's tax
// amount drives totals; the rate is what the invoice displays and what credit notes reference.
type taxRateData struct {
	displayName       string
	description       string
	inclusive         bool
	percentage        decimal.Decimal // 0 to 100, at most 4 decimal places
	jurisdiction      string
	jurisdictionLevel string
	taxType           string
	country           string
	state             string
}

// key identifies tax_rate_data for reuse. Percentages are compared by value, so "4.81" and
// "4.8100" describe the same rate.
func (d taxRateData) key() string {
	return strings.Join([]string{
		d.displayName, d.description, boolString(d.inclusive), d.percentage.String(), d.jurisdiction,
		d.jurisdictionLevel, d.taxType, d.country, d.state,
	}, "\x00")
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// taxRateFor finds the tax rate an identical tax_rate_data created before, or creates it.
func (c *call) taxRateFor(d taxRateData) *taxRate {
	if tr, ok := c.acct.taxRateByData[d.key()]; ok {
		return tr
	}
	tr := &taxRate{id: c.s.ids.next1("txr"), data: d, active: false, created: c.now}
	c.acct.taxRates.add(tr.id, tr)
	c.acct.taxRateByData[d.key()] = tr
	c.emit("tax_rate.created", renderTaxRate(tr), nil)
	return tr
}

var (
	jurisdictionLevels = []string{"city", "country", "county", "district", "multiple", "state"}
	taxTypes           = []string{
		"amusement_tax", "communications_tax", "gst", "hst", "igst", "jct", "lease_tax", "pst", "qst",
		"retail_delivery_fee", "rst", "sales_tax", "service_tax", "vat",
	}
	taxabilityReasons = []string{
		"customer_exempt", "not_collecting", "not_subject_to_tax", "not_supported", "portion_product_exempt",
		"portion_reduced_rated", "portion_standard_rated", "product_exempt", "product_exempt_holiday",
		"proportionally_rated", "reduced_rated", "reverse_charge", "standard_rated", "taxable_basis_reduced",
		"zero_rated",
	}
)

var taxRateDataSpec = obj(map[string]spec{
	"display_name": str(), "description": str(), "inclusive": boolean(), "percentage": dec(),
	"jurisdiction": str(), "jurisdiction_level": oneOf(jurisdictionLevels...), "tax_type": oneOf(taxTypes...),
	"country": str(), "state": str(),
})

var taxAmountSpec = obj(map[string]spec{
	"amount": integer(), "taxable_amount": integer(), "taxability_reason": oneOf(taxabilityReasons...),
	"tax_rate_data": taxRateDataSpec,
})

// parseTaxRateData validates one tax_rate_data hash: display_name, inclusive and percentage
// are required; the percentage lies between 0 and 100 with at most four decimal places.
func parseTaxRateData(p *param, base string) (taxRateData, *apiError) {
	if p == nil {
		return taxRateData{}, missingParam(base)
	}
	for _, required := range []string{"display_name", "inclusive", "percentage"} {
		if !p.has(required) {
			return taxRateData{}, missingParam(paramPath(base, required))
		}
		if p.get(required).isEmpty() {
			return taxRateData{}, emptyParam(paramPath(base, required))
		}
	}
	d := taxRateData{
		displayName: p.strOf("display_name"), description: p.strOf("description"),
		jurisdiction: p.strOf("jurisdiction"), jurisdictionLevel: p.strOf("jurisdiction_level"),
		taxType: p.strOf("tax_type"), country: strings.ToUpper(p.strOf("country")), state: p.strOf("state"),
	}
	if len([]rune(d.displayName)) > maxTaxDisplayName {
		return taxRateData{}, invalidParam("", paramPath(base, "display_name"),
			"Invalid display_name: at most %d characters are allowed.", maxTaxDisplayName)
	}
	d.inclusive, _ = p.boolOf("inclusive")
	pct, _ := p.decimalOf("percentage")
	if pct.IsNegative() || pct.GreaterThan(decimal.NewFromInt(100)) || decimalPlaces(pct) > maxPercentagePlaces {
		return taxRateData{}, invalidParam("", paramPath(base, "percentage"),
			"Invalid percentage: must be between 0 and 100 with at most %d decimal places, got %s.", maxPercentagePlaces, p.strOf("percentage"))
	}
	d.percentage = pct
	return d, nil
}

func (s *Server) taxRateRoutes() []route {
	return []route{
		{method: "GET", pattern: "/v1/tax_rates", fn: listTaxRates,
			params: endpointParams{listSpec(map[string]spec{"active": boolean(), "inclusive": boolean(), "created": intOrRange()}),
				knownFrom(stripe.TaxRateListParams{})}},
		{method: "GET", pattern: "/v1/tax_rates/{id}", fn: retrieveTaxRate,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.TaxRateRetrieveParams{})}},
	}
}

func retrieveTaxRate(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	tr, ok := c.acct.taxRates.get(id)
	if !ok {
		return nil, noSuchInPath("tax rate", id, "tax_rate")
	}
	return renderTaxRate(tr), nil
}

func listTaxRates(c *call) (any, *apiError) {
	active, filterActive := c.params.boolOf("active")
	inclusive, filterInclusive := c.params.boolOf("inclusive")
	created := createdFilter(c.params.get("created"))
	var items []*taxRate
	for _, tr := range c.acct.taxRates.newestFirst() {
		if (filterActive && tr.active != active) || (filterInclusive && tr.data.inclusive != inclusive) || !created(tr.created) {
			continue
		}
		items = append(items, tr)
	}
	return paginate(c, items, func(x *taxRate) string { return x.id }, "tax rate", "/v1/tax_rates",
		func(x *taxRate) any { return renderTaxRate(x) })
}

// jsonDecimal writes a decimal as a JSON number: Stripe's percentage is a number, not a string.
type jsonDecimal decimal.Decimal

func (d jsonDecimal) MarshalJSON() ([]byte, error) {
	return json.RawMessage(decimal.Decimal(d).String()), nil
}

type taxRateJSON struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Active              bool              `json:"active"`
	Country             *string           `json:"country"`
	Created             int64             `json:"created"`
	Description         *string           `json:"description"`
	DisplayName         string            `json:"display_name"`
	EffectivePercentage jsonDecimal       `json:"effective_percentage"`
	FlatAmount          *string           `json:"flat_amount"`
	Inclusive           bool              `json:"inclusive"`
	Jurisdiction        *string           `json:"jurisdiction"`
	JurisdictionLevel   *string           `json:"jurisdiction_level"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Percentage          jsonDecimal       `json:"percentage"`
	RateType            *string           `json:"rate_type"`
	State               *string           `json:"state"`
	TaxType             *string           `json:"tax_type"`
}

func renderTaxRate(tr *taxRate) taxRateJSON {
	d := tr.data
	return taxRateJSON{
		ID: tr.id, Object: "tax_rate", Active: tr.active, Country: nullable(d.country), Created: tr.created,
		Description: nullable(d.description), DisplayName: d.displayName,
		EffectivePercentage: jsonDecimal(d.percentage), Inclusive: d.inclusive,
		Jurisdiction: nullable(d.jurisdiction), JurisdictionLevel: nullable(d.jurisdictionLevel),
		Metadata: map[string]string{}, Percentage: jsonDecimal(d.percentage), RateType: nullable("percentage"),
		State: nullable(d.state), TaxType: nullable(d.taxType),
	}
}
