package stripesim

import (
	"regexp"

	"github.com/shopspring/decimal"
	"github.com/stripe/stripe-go/v82"
)

// product is a Stripe product. taxflow maps its own products to Stripe products, and an
// invoice line's price_data must name one that exists, as in Stripe.
type product struct {
	id          string
	name        string
	description string
	taxCode     string
	unitLabel   string
	active      bool
	metadata    map[string]string
	created     int64
	updated     int64
}

// price is a Stripe price. Lines written with price_data or a bare amount get a one-off
// price minted for them, as Stripe does; that is the price their pricing names.
type price struct {
	id          string
	product     string
	currency    string
	nickname    string
	active      bool
	unitAmount  decimal.Decimal // in the smallest currency unit, up to 12 decimal places
	taxBehavior string          // inclusive | exclusive | unspecified
	metadata    map[string]string
	created     int64
}

// A product id chosen by the client must look like an id: Stripe allows letters, digits,
// underscores and hyphens.
var productIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func productFieldsSpec(creating bool) map[string]spec {
	f := map[string]spec{
		"name": str(), "description": str(), "active": boolean(), "metadata": metadataSpec(),
		"tax_code": str(), "unit_label": str(),
	}
	if creating {
		f["id"] = str()
	}
	return f
}

func priceFieldsSpec() map[string]spec {
	return map[string]spec{
		"currency": str(), "product": str(), "product_data": obj(map[string]spec{"name": str(), "metadata": metadataSpec()}),
		"unit_amount": integer(), "unit_amount_decimal": dec(),
		"tax_behavior": oneOf("inclusive", "exclusive", "unspecified"),
		"metadata":     metadataSpec(), "nickname": str(), "active": boolean(),
	}
}

func (s *Server) catalogRoutes() []route {
	return []route{
		{method: "POST", pattern: "/v1/products", fn: createProduct,
			params: endpointParams{withExpand(productFieldsSpec(true)), knownFrom(stripe.ProductCreateParams{})}},
		{method: "GET", pattern: "/v1/products", fn: listProducts,
			params: endpointParams{listSpec(map[string]spec{"active": boolean(), "created": intOrRange()}), knownFrom(stripe.ProductListParams{})}},
		{method: "GET", pattern: "/v1/products/{id}", fn: retrieveProduct,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.ProductRetrieveParams{})}},
		{method: "POST", pattern: "/v1/products/{id}", fn: updateProduct,
			params: endpointParams{withExpand(productFieldsSpec(false)), knownFrom(stripe.ProductUpdateParams{})}},
		{method: "POST", pattern: "/v1/prices", fn: createPrice,
			params: endpointParams{withExpand(priceFieldsSpec()), knownFrom(stripe.PriceCreateParams{})}},
		{method: "GET", pattern: "/v1/prices", fn: listPrices,
			params: endpointParams{listSpec(map[string]spec{"active": boolean(), "product": str(), "currency": str(), "created": intOrRange()}),
				knownFrom(stripe.PriceListParams{})}},
		{method: "GET", pattern: "/v1/prices/{id}", fn: retrievePrice,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.PriceRetrieveParams{})}},
	}
}

func createProduct(c *call) (any, *apiError) {
	id := c.params.strOf("id")
	if c.params.has("id") {
		if !productIDPattern.MatchString(id) {
			return nil, invalidParam("", "id", "Invalid id: product ids may hold letters, digits, '_' and '-' only.")
		}
		if _, exists := c.acct.products.get(id); exists {
			return nil, invalidRequest("resource_already_exists", "id", "Product already exists.")
		}
	} else {
		id = c.s.ids.next1("prod")
	}
	if !c.params.has("name") {
		return nil, missingParam("name")
	}
	if c.params.strOf("name") == "" {
		return nil, emptyParam("name")
	}
	p := &product{id: id, active: true, created: c.now, updated: c.now}
	if e := applyProductParams(p, c.params); e != nil {
		return nil, e
	}
	c.acct.products.add(p.id, p)
	c.emit("product.created", renderProduct(p), nil)
	return renderProduct(p), nil
}

func retrieveProduct(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	p, ok := c.acct.products.get(id)
	if !ok {
		return nil, noSuchInPath("product", id, "id")
	}
	return renderProduct(p), nil
}

func updateProduct(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	p, ok := c.acct.products.get(id)
	if !ok {
		return nil, noSuchInPath("product", id, "id")
	}
	if c.params.has("name") && c.params.strOf("name") == "" {
		return nil, emptyParam("name")
	}
	before := renderProduct(p)
	updated := *p
	if e := applyProductParams(&updated, c.params); e != nil {
		return nil, e
	}
	updated.updated = c.now
	*p = updated
	c.emit("product.updated", renderProduct(p), before)
	return renderProduct(p), nil
}

func applyProductParams(p *product, params *param) *apiError {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &p.name}, {"description", &p.description}, {"tax_code", &p.taxCode}, {"unit_label", &p.unitLabel}} {
		if params.has(f.name) {
			*f.dst = params.strOf(f.name)
		}
	}
	if v, ok := params.boolOf("active"); ok {
		p.active = v
	}
	md, e := applyMetadata(p.metadata, params.get("metadata"), "metadata")
	if e != nil {
		return e
	}
	p.metadata = md
	return nil
}

func listProducts(c *call) (any, *apiError) {
	active, filterActive := c.params.boolOf("active")
	created := createdFilter(c.params.get("created"))
	var items []*product
	for _, p := range c.acct.products.newestFirst() {
		if (filterActive && p.active != active) || !created(p.created) {
			continue
		}
		items = append(items, p)
	}
	return paginate(c, items, func(x *product) string { return x.id }, "product", "/v1/products",
		func(x *product) any { return renderProduct(x) })
}

func createPrice(c *call) (any, *apiError) {
	if !c.params.has("currency") {
		return nil, missingParam("currency")
	}
	currency, e := checkCurrency(c.params.strOf("currency"), "currency")
	if e != nil {
		return nil, e
	}
	productID := c.params.strOf("product")
	switch {
	case c.params.has("product") && c.params.has("product_data"):
		return nil, exclusiveParams("product", "product", "product_data")
	case c.params.has("product_data"):
		pd := c.params.get("product_data")
		if pd.strOf("name") == "" {
			return nil, missingParam("product_data[name]")
		}
		md, e := applyMetadata(nil, pd.get("metadata"), "product_data[metadata]")
		if e != nil {
			return nil, e
		}
		p := &product{id: c.s.ids.next1("prod"), name: pd.strOf("name"), active: true, metadata: md, created: c.now, updated: c.now}
		c.acct.products.add(p.id, p)
		productID = p.id
	case productID == "":
		return nil, missingParam("product")
	default:
		if _, ok := c.acct.products.get(productID); !ok {
			return nil, noSuchInBody("product", productID, "product")
		}
	}
	unit, e := unitAmountOf(c.params, "")
	if e != nil {
		return nil, e
	}
	md, e := applyMetadata(nil, c.params.get("metadata"), "metadata")
	if e != nil {
		return nil, e
	}
	active := true
	if v, ok := c.params.boolOf("active"); ok {
		active = v
	}
	taxBehavior := c.params.strOf("tax_behavior")
	if taxBehavior == "" {
		taxBehavior = "unspecified"
	}
	pr := &price{
		id: c.s.ids.next1("price"), product: productID, currency: currency, nickname: c.params.strOf("nickname"),
		active: active, unitAmount: unit, taxBehavior: taxBehavior, metadata: md, created: c.now,
	}
	c.acct.prices.add(pr.id, pr)
	c.emit("price.created", renderPrice(pr), nil)
	return renderPrice(pr), nil
}

// unitAmountOf reads unit_amount or unit_amount_decimal (exactly one) under base: a
// non-negative amount in the smallest currency unit with at most 12 decimal places.
func unitAmountOf(p *param, base string) (decimal.Decimal, *apiError) {
	hasInt, hasDec := p.has("unit_amount"), p.has("unit_amount_decimal")
	switch {
	case hasInt && hasDec:
		return decimal.Decimal{}, exclusiveParams(paramPath(base, "unit_amount"), "unit_amount", "unit_amount_decimal")
	case hasInt:
		n, ok := p.int64Of("unit_amount")
		if !ok {
			return decimal.Decimal{}, emptyParam(paramPath(base, "unit_amount"))
		}
		if n < 0 {
			return decimal.Decimal{}, invalidParam("", paramPath(base, "unit_amount"),
				"Invalid unit_amount: must be a non-negative integer, got %d.", n)
		}
		return decimal.NewFromInt(n), nil
	case hasDec:
		d, ok := p.decimalOf("unit_amount_decimal")
		path := paramPath(base, "unit_amount_decimal")
		if !ok {
			return decimal.Decimal{}, emptyParam(path)
		}
		if d.IsNegative() {
			return decimal.Decimal{}, invalidParam("", path, "Invalid unit_amount_decimal: must be non-negative, got %s.", d)
		}
		if decimalPlaces(d) > maxUnitAmountPlaces {
			return decimal.Decimal{}, invalidParam("", path,
				"Invalid unit_amount_decimal: at most %d decimal places are allowed, got %s.", maxUnitAmountPlaces, d)
		}
		return d, nil
	}
	path := base
	if path == "" {
		path = "unit_amount"
	} else {
		path = paramPath(base, "unit_amount")
	}
	return decimal.Decimal{}, missingParam(path)
}

func retrievePrice(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	pr, ok := c.acct.prices.get(id)
	if !ok {
		return nil, noSuchInPath("price", id, "price")
	}
	return renderPrice(pr), nil
}

func listPrices(c *call) (any, *apiError) {
	active, filterActive := c.params.boolOf("active")
	productID, currency := c.params.strOf("product"), c.params.strOf("currency")
	created := createdFilter(c.params.get("created"))
	var items []*price
	for _, pr := range c.acct.prices.newestFirst() {
		if (filterActive && pr.active != active) || (productID != "" && pr.product != productID) ||
			(currency != "" && pr.currency != currency) || !created(pr.created) {
			continue
		}
		items = append(items, pr)
	}
	return paginate(c, items, func(x *price) string { return x.id }, "price", "/v1/prices",
		func(x *price) any { return renderPrice(x) })
}

type productJSON struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Active              bool              `json:"active"`
	Attributes          []string          `json:"attributes"`
	Created             int64             `json:"created"`
	DefaultPrice        *string           `json:"default_price"`
	Description         *string           `json:"description"`
	Images              []string          `json:"images"`
	Livemode            bool              `json:"livemode"`
	MarketingFeatures   []string          `json:"marketing_features"`
	Metadata            map[string]string `json:"metadata"`
	Name                string            `json:"name"`
	PackageDimensions   *string           `json:"package_dimensions"`
	Shippable           *bool             `json:"shippable"`
	StatementDescriptor *string           `json:"statement_descriptor"`
	TaxCode             *string           `json:"tax_code"`
	Type                string            `json:"type"`
	UnitLabel           *string           `json:"unit_label"`
	Updated             int64             `json:"updated"`
	URL                 *string           `json:"url"`
}

func renderProduct(p *product) productJSON {
	return productJSON{
		ID: p.id, Object: "product", Active: p.active, Attributes: []string{}, Created: p.created,
		Description: nullable(p.description), Images: []string{}, MarketingFeatures: []string{},
		Metadata: p.metadata, Name: p.name, TaxCode: nullable(p.taxCode), Type: "service",
		UnitLabel: nullable(p.unitLabel), Updated: p.updated,
	}
}

type priceJSON struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Active            bool              `json:"active"`
	BillingScheme     string            `json:"billing_scheme"`
	Created           int64             `json:"created"`
	Currency          string            `json:"currency"`
	CustomUnitAmount  *string           `json:"custom_unit_amount"`
	Livemode          bool              `json:"livemode"`
	LookupKey         *string           `json:"lookup_key"`
	Metadata          map[string]string `json:"metadata"`
	Nickname          *string           `json:"nickname"`
	Product           string            `json:"product"`
	Recurring         *string           `json:"recurring"`
	TaxBehavior       string            `json:"tax_behavior"`
	TiersMode         *string           `json:"tiers_mode"`
	TransformQuantity *string           `json:"transform_quantity"`
	Type              string            `json:"type"`
	UnitAmount        *int64            `json:"unit_amount"`
	UnitAmountDecimal string            `json:"unit_amount_decimal"`
}

func renderPrice(pr *price) priceJSON {
	var unit *int64
	// unit_amount exists only when the price is a whole number of the smallest unit.
	if pr.unitAmount.IsInteger() {
		n := pr.unitAmount.IntPart()
		unit = &n
	}
	return priceJSON{
		ID: pr.id, Object: "price", Active: pr.active, BillingScheme: "per_unit", Created: pr.created,
		Currency: pr.currency, Metadata: pr.metadata, Nickname: nullable(pr.nickname), Product: pr.product,
		TaxBehavior: pr.taxBehavior, Type: "one_time", UnitAmount: unit, UnitAmountDecimal: pr.unitAmount.String(),
	}
}
