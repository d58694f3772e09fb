package stripesim

import (
	"maps"
	"slices"

	"github.com/shopspring/decimal"
)

// invoiceItem is a Stripe invoice item: the billable fact behind an invoice line. Amount,
// description, quantity, period, pricing and metadata live here; an update through the line
// reaches the item too, as in Stripe.
type invoiceItem struct {
	id           string
	customer     string
	currency     string
	invoice      string // "" while pending (not on any invoice)
	amount       int64
	quantity     int64
	unitAmount   decimal.Decimal // smallest currency unit, up to 12 decimal places
	description  string
	discountable bool
	metadata     map[string]string
	periodStart  int64
	periodEnd    int64
	product      string
	price        string
	taxBehavior  string // of the price: inclusive | exclusive | unspecified
	date         int64
	deleted      bool

	// productName names the product to mint when product is "" (price_data[product_data]
	// or a bare amount, for which Stripe creates the product and price behind the item).
	productName string
}

// invoiceLine is an invoice line item (il_): an invoice item placed on an invoice, plus the
// tax amounts, which exist only on the line.
type invoiceLine struct {
	id    string
	item  *invoiceItem
	taxes []lineTax
}

// lineTax is one tax amount of a line. Only amount drives totals; the rate is for display
// (and for the txr_ id credit notes refer to).
type lineTax struct {
	amount           int64
	taxableAmount    int64
	taxabilityReason string
	rate             *taxRate
}

func (t lineTax) behavior() string {
	if t.rate.data.inclusive {
		return "inclusive"
	}
	return "exclusive"
}

// lineSpec is what a line in add_lines / update_lines / the line update endpoint accepts.
func lineFieldsSpec() map[string]spec {
	return map[string]spec{
		"amount": integer(), "description": str(), "discountable": boolean(), "metadata": metadataSpec(),
		"period": obj(map[string]spec{"start": integer(), "end": integer()}),
		"price_data": obj(map[string]spec{
			"currency": str(), "product": str(),
			"product_data": obj(map[string]spec{"name": str(), "description": str(), "metadata": metadataSpec(), "tax_code": str()}),
			"tax_behavior": oneOf("inclusive", "exclusive", "unspecified"),
			"unit_amount":  integer(), "unit_amount_decimal": dec(),
		}),
		"pricing":     obj(map[string]spec{"price": str()}),
		"quantity":    integer(),
		"tax_amounts": listOf(taxAmountSpec),
	}
}

// lineInput is one line's (or invoice item's) parameters after structural validation.
// Pointers and nil slices distinguish "not sent" from a value.
type lineInput struct {
	path         string
	amount       *int64
	quantity     *int64
	description  *string
	discountable *bool
	metadata     *param
	period       *[2]int64
	priceData    *param
	price        string // pricing[price]
	invoiceItem  string // add_lines: assign this pending item
	taxAmounts   *[]taxAmountInput
}

type taxAmountInput struct {
	amount, taxableAmount int64
	taxabilityReason      string
	rate                  taxRateData
}

// hasPricing reports whether the input sets what the item costs.
func (in *lineInput) hasPricing() bool {
	return in.amount != nil || in.priceData != nil || in.price != ""
}

// parseLineInput reads a line's parameters and applies the rules that need no state: which
// parameters exclude each other, ranges, and the shape of tax amounts.
func parseLineInput(p *param, path string) (*lineInput, *apiError) {
	in := &lineInput{path: path}
	at := func(name string) string { return paramPath(path, name) }
	if p.has("amount") {
		n, ok := p.int64Of("amount")
		if !ok {
			return nil, emptyParam(at("amount"))
		}
		if e := checkLineAmount(n, at("amount")); e != nil {
			return nil, e
		}
		in.amount = &n
	}
	if p.has("quantity") {
		n, ok := p.int64Of("quantity")
		if !ok {
			return nil, emptyParam(at("quantity"))
		}
		if n < 0 {
			return nil, invalidParam("", at("quantity"), "Invalid quantity: must be a non-negative integer, got %d.", n)
		}
		in.quantity = &n
	}
	// A bare amount is the line's total: Stripe refuses a quantity beside it.
	if in.amount != nil && in.quantity != nil {
		return nil, exclusiveParams(at("amount"), "amount", "quantity")
	}
	if p.has("description") {
		v := p.strOf("description")
		in.description = &v
	}
	if v, ok := p.boolOf("discountable"); ok {
		in.discountable = &v
	}
	if p.has("metadata") {
		if _, e := applyMetadata(nil, p.get("metadata"), at("metadata")); e != nil {
			return nil, e
		}
		in.metadata = p.get("metadata")
	}
	if pp := p.get("period"); pp != nil && !pp.isEmpty() {
		start, okStart := pp.int64Of("start")
		end, okEnd := pp.int64Of("end")
		if !okStart {
			return nil, missingParam(at("period") + "[start]")
		}
		if !okEnd {
			return nil, missingParam(at("period") + "[end]")
		}
		if end < start {
			return nil, invalidParam("", at("period")+"[end]", "The period end must be greater than or equal to the period start.")
		}
		in.period = &[2]int64{start, end}
	}
	if p.has("price_data") && !p.get("price_data").isEmpty() {
		in.priceData = p.get("price_data")
	}
	if pr := p.get("pricing"); pr != nil && !pr.isEmpty() {
		in.price = pr.strOf("price")
		if in.price == "" {
			return nil, missingParam(at("pricing") + "[price]")
		}
	}
	switch {
	case in.amount != nil && in.priceData != nil:
		return nil, exclusiveParams(at("amount"), "amount", "price_data")
	case in.amount != nil && in.price != "":
		return nil, exclusiveParams(at("amount"), "amount", "pricing")
	case in.priceData != nil && in.price != "":
		return nil, exclusiveParams(at("price_data"), "price_data", "pricing")
	}
	if p.has("tax_amounts") {
		taxes, e := parseTaxAmounts(p.get("tax_amounts"), at("tax_amounts"))
		if e != nil {
			return nil, e
		}
		in.taxAmounts = &taxes
	}
	return in, nil
}

// parseTaxAmounts reads tax_amounts: at most ten, each with amount, taxable_amount and
// tax_rate_data. `tax_amounts=` removes them all.
func parseTaxAmounts(p *param, path string) ([]taxAmountInput, *apiError) {
	if p.isEmpty() {
		return []taxAmountInput{}, nil
	}
	items := p.items()
	if len(items) > maxTaxAmountsPerLine {
		return nil, invalidParam("", path, "A line can have at most %d tax amounts; got %d.", maxTaxAmountsPerLine, len(items))
	}
	out := make([]taxAmountInput, 0, len(items))
	for i, item := range items {
		base := paramPath(path, itoa(i))
		var t taxAmountInput
		for _, f := range []struct {
			name string
			dst  *int64
		}{{"amount", &t.amount}, {"taxable_amount", &t.taxableAmount}} {
			n, ok := item.int64Of(f.name)
			if !ok {
				if item.has(f.name) {
					return nil, emptyParam(paramPath(base, f.name))
				}
				return nil, missingParam(paramPath(base, f.name))
			}
			if e := checkLineAmount(n, paramPath(base, f.name)); e != nil {
				return nil, e
			}
			*f.dst = n
		}
		t.taxabilityReason = item.strOf("taxability_reason")
		rate, e := parseTaxRateData(item.get("tax_rate_data"), paramPath(base, "tax_rate_data"))
		if e != nil {
			return nil, e
		}
		t.rate = rate
		out = append(out, t)
	}
	return out, nil
}

// planItem computes what an invoice item becomes under in, without changing anything: base
// is the item being updated or assigned (nil for a new one). References (product, price) are
// checked here so that a request either applies every line or none.
func (c *call) planItem(base *invoiceItem, in *lineInput, currency string) (*invoiceItem, *apiError) {
	at := func(name string) string { return paramPath(in.path, name) }
	it := &invoiceItem{currency: currency, quantity: 1, periodStart: c.now, periodEnd: c.now, taxBehavior: "unspecified"}
	if base != nil {
		cp := *base
		cp.metadata = maps.Clone(base.metadata)
		it = &cp
	} else if !in.hasPricing() {
		return nil, invalidParam("", at("amount"),
			"You must specify one of these parameters: amount, price_data, pricing.")
	}
	if in.description != nil {
		it.description = *in.description
	}
	if in.metadata != nil {
		md, e := applyMetadata(it.metadata, in.metadata, at("metadata"))
		if e != nil {
			return nil, e
		}
		it.metadata = md
	}
	if it.metadata == nil {
		it.metadata = map[string]string{}
	}
	if in.period != nil {
		it.periodStart, it.periodEnd = in.period[0], in.period[1]
	}

	repriced := false
	switch {
	case in.amount != nil:
		// Stripe stores a bare amount as a one-off price of that unit amount, quantity 1.
		it.unitAmount, it.quantity, it.price, it.taxBehavior = decimal.NewFromInt(*in.amount), 1, "", "unspecified"
		if it.product == "" {
			it.productName = it.description
		}
		repriced = true
	case in.priceData != nil:
		pd := in.priceData
		base := at("price_data")
		if pd.has("currency") {
			cur, e := checkCurrency(pd.strOf("currency"), paramPath(base, "currency"))
			if e != nil {
				return nil, e
			}
			if cur != currency {
				return nil, invalidParam("", paramPath(base, "currency"),
					"The price_data currency (%s) must match the invoice currency (%s).", cur, currency)
			}
		}
		switch {
		case pd.has("product") && pd.has("product_data"):
			return nil, exclusiveParams(paramPath(base, "product"), "product", "product_data")
		case pd.has("product_data"):
			name := pd.get("product_data").strOf("name")
			if name == "" {
				return nil, missingParam(paramPath(base, "product_data") + "[name]")
			}
			it.product, it.productName = "", name
		case pd.strOf("product") == "":
			return nil, missingParam(paramPath(base, "product"))
		default:
			id := pd.strOf("product")
			if _, ok := c.acct.products.get(id); !ok {
				return nil, noSuchInBody("product", id, paramPath(base, "product"))
			}
			it.product = id
		}
		unit, e := unitAmountOf(pd, base)
		if e != nil {
			return nil, e
		}
		it.unitAmount, it.price = unit, ""
		it.taxBehavior = pd.strOf("tax_behavior")
		if it.taxBehavior == "" {
			it.taxBehavior = "unspecified"
		}
		repriced = true
	case in.price != "":
		pr, ok := c.acct.prices.get(in.price)
		if !ok {
			return nil, noSuchInBody("price", in.price, at("pricing")+"[price]")
		}
		if pr.currency != currency {
			return nil, invalidParam("", at("pricing")+"[price]",
				"The price currency (%s) must match the invoice currency (%s).", pr.currency, currency)
		}
		it.unitAmount, it.product, it.price, it.taxBehavior = pr.unitAmount, pr.product, pr.id, pr.taxBehavior
		repriced = true
	}
	if in.quantity != nil {
		// The unit amount (and so the price) stays; the quantity scales it.
		it.quantity = *in.quantity
		repriced = true
	}
	if repriced {
		if in.amount != nil {
			it.amount = *in.amount
		} else {
			// quantity × unit amount, rounded to the smallest unit (halves away from zero):
			// a line amount is always an integer number of the smallest unit.
			it.amount = it.unitAmount.Mul(decimal.NewFromInt(it.quantity)).Round(0).IntPart()
			if e := checkLineAmount(it.amount, at("quantity")); e != nil {
				return nil, e
			}
		}
	}
	switch {
	case in.discountable != nil:
		it.discountable = *in.discountable
	case base == nil:
		// Discounts apply by default to positive items only.
		it.discountable = it.amount >= 0
	}
	return it, nil
}

// storeItem files a planned item, minting the one-off product and price Stripe creates
// behind items priced by price_data or by a bare amount.
func (c *call) storeItem(it *invoiceItem, existing *invoiceItem) *invoiceItem {
	if it.product == "" {
		name := it.productName
		if name == "" {
			name = "Invoice item"
		}
		p := &product{id: c.s.ids.next1("prod"), name: name, active: false, metadata: map[string]string{}, created: c.now, updated: c.now}
		c.acct.products.add(p.id, p)
		it.product = p.id
	}
	it.productName = ""
	if it.price == "" {
		pr := &price{
			id: c.s.ids.next1("price"), product: it.product, currency: it.currency, active: false,
			unitAmount: it.unitAmount, taxBehavior: it.taxBehavior, metadata: map[string]string{}, created: c.now,
		}
		c.acct.prices.add(pr.id, pr)
		it.price = pr.id
	}
	if existing != nil {
		*existing = *it
		return existing
	}
	it.id = c.s.ids.next1("ii")
	it.date = c.now
	c.acct.invoiceItems.add(it.id, it)
	return it
}

// lineTaxes turns validated tax amounts into line taxes, creating or reusing tax rates.
func (c *call) lineTaxes(in []taxAmountInput) []lineTax {
	out := make([]lineTax, 0, len(in))
	for _, t := range in {
		out = append(out, lineTax{
			amount: t.amount, taxableAmount: t.taxableAmount, taxabilityReason: t.taxabilityReason,
			rate: c.taxRateFor(t.rate),
		})
	}
	return out
}

// lineJSON is Stripe's invoice line item in the basil shape: the invoice item is named under
// parent, the price under pricing, and taxes reference their tax rates.
type lineJSON struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Amount              int64             `json:"amount"`
	Currency            string            `json:"currency"`
	Description         *string           `json:"description"`
	DiscountAmounts     []any             `json:"discount_amounts"`
	Discountable        bool              `json:"discountable"`
	Discounts           []any             `json:"discounts"`
	Invoice             string            `json:"invoice"`
	Livemode            bool              `json:"livemode"`
	Metadata            map[string]string `json:"metadata"`
	Parent              lineParentJSON    `json:"parent"`
	Period              periodJSON        `json:"period"`
	PretaxCreditAmounts []any             `json:"pretax_credit_amounts"`
	Pricing             pricingJSON       `json:"pricing"`
	Quantity            int64             `json:"quantity"`
	Subscription        *string           `json:"subscription"`
	Taxes               []taxJSON         `json:"taxes"`
}

type lineParentJSON struct {
	InvoiceItemDetails      *invoiceItemDetailsJSON `json:"invoice_item_details"`
	SubscriptionItemDetails *string                 `json:"subscription_item_details"`
	Type                    string                  `json:"type"`
}

type invoiceItemDetailsJSON struct {
	InvoiceItem      string  `json:"invoice_item"`
	Proration        bool    `json:"proration"`
	ProrationDetails any     `json:"proration_details"`
	Subscription     *string `json:"subscription"`
}

type periodJSON struct {
	End   int64 `json:"end"`
	Start int64 `json:"start"`
}

type pricingJSON struct {
	PriceDetails      priceDetailsJSON `json:"price_details"`
	Type              string           `json:"type"`
	UnitAmountDecimal string           `json:"unit_amount_decimal"`
}

type priceDetailsJSON struct {
	Price   string `json:"price"`
	Product string `json:"product"`
}

type taxJSON struct {
	Amount           int64              `json:"amount"`
	TaxBehavior      string             `json:"tax_behavior"`
	TaxRateDetails   taxRateDetailsJSON `json:"tax_rate_details"`
	TaxabilityReason *string            `json:"taxability_reason"`
	TaxableAmount    int64              `json:"taxable_amount"`
	Type             string             `json:"type"`
}

type taxRateDetailsJSON struct {
	TaxRate string `json:"tax_rate"`
}

func renderTax(amount, taxable int64, behavior, reason, rate string) taxJSON {
	return taxJSON{
		Amount: amount, TaxBehavior: behavior, TaxRateDetails: taxRateDetailsJSON{TaxRate: rate},
		TaxabilityReason: nullable(reason), TaxableAmount: taxable, Type: "tax_rate_details",
	}
}

func renderLine(l *invoiceLine) lineJSON {
	it := l.item
	taxes := make([]taxJSON, 0, len(l.taxes))
	for _, t := range l.taxes {
		taxes = append(taxes, renderTax(t.amount, t.taxableAmount, t.behavior(), t.taxabilityReason, t.rate.id))
	}
	return lineJSON{
		ID: l.id, Object: "line_item", Amount: it.amount, Currency: it.currency, Description: nullable(it.description),
		DiscountAmounts: []any{}, Discountable: it.discountable, Discounts: []any{}, Invoice: it.invoice,
		Metadata: it.metadata,
		Parent: lineParentJSON{Type: "invoice_item_details", InvoiceItemDetails: &invoiceItemDetailsJSON{
			InvoiceItem: it.id, ProrationDetails: map[string]any{"credited_items": nil},
		}},
		Period:              periodJSON{Start: it.periodStart, End: it.periodEnd},
		PretaxCreditAmounts: []any{},
		Pricing:             renderPricing(it),
		Quantity:            it.quantity,
		Taxes:               taxes,
	}
}

func renderPricing(it *invoiceItem) pricingJSON {
	return pricingJSON{
		PriceDetails:      priceDetailsJSON{Price: it.price, Product: it.product},
		Type:              "price_details",
		UnitAmountDecimal: it.unitAmount.String(),
	}
}

// lineByID finds a line of an invoice.
func (inv *invoice) lineByID(id string) (int, *invoiceLine) {
	i := slices.IndexFunc(inv.lines, func(l *invoiceLine) bool { return l.id == id })
	if i < 0 {
		return -1, nil
	}
	return i, inv.lines[i]
}
