package stripesim

import (
	"fmt"
	"strings"

	"github.com/stripe/stripe-go/v82"
)

// customer is a Stripe customer. Empty strings are unset fields (rendered null).
type customer struct {
	id          string
	created     int64
	deleted     bool
	name        string
	email       string
	phone       string
	description string
	address     *address
	shipping    *shipping
	metadata    map[string]string
	taxExempt   string
	locales     []string
	// balance is what the customer owes (positive) or is owed (negative), in currency. Stripe
	// applies it to the customer's next finalized invoice.
	balance  int64
	currency string
	// invoicePrefix and nextInvoiceSequence number the customer's invoices: Stripe's default
	// per-customer numbering is PREFIX-0001, PREFIX-0002, ...
	invoicePrefix       string
	nextInvoiceSequence int64
}

type address struct {
	Line1, Line2, City, State, PostalCode, Country string
}

type shipping struct {
	name, phone string
	address     *address
}

var addressSpec = obj(map[string]spec{
	"line1": str(), "line2": str(), "city": str(), "state": str(), "postal_code": str(), "country": str(),
})

func customerFieldsSpec() map[string]spec {
	return map[string]spec{
		"name": str(), "email": str(), "phone": str(), "description": str(),
		"address":           addressSpec,
		"shipping":          obj(map[string]spec{"name": str(), "phone": str(), "address": addressSpec}),
		"metadata":          metadataSpec(),
		"invoice_prefix":    str(),
		"preferred_locales": strList(),
		"tax_exempt":        oneOf("none", "exempt", "reverse"),
		"balance":           integer(),
	}
}

func (s *Server) customerRoutes() []route {
	return []route{
		{method: "POST", pattern: "/v1/customers", fn: createCustomer,
			params: endpointParams{withExpand(customerFieldsSpec()), knownFrom(stripe.CustomerCreateParams{})}},
		{method: "GET", pattern: "/v1/customers", fn: listCustomers,
			params: endpointParams{listSpec(map[string]spec{"email": str(), "created": intOrRange()}), knownFrom(stripe.CustomerListParams{})}},
		{method: "GET", pattern: "/v1/customers/{id}", fn: retrieveCustomer,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.CustomerRetrieveParams{})}},
		{method: "POST", pattern: "/v1/customers/{id}", fn: updateCustomer,
			params: endpointParams{withExpand(customerFieldsSpec()), knownFrom(stripe.CustomerUpdateParams{})}},
		{method: "DELETE", pattern: "/v1/customers/{id}", fn: deleteCustomer,
			params: endpointParams{obj(map[string]spec{}), knownFrom(stripe.CustomerDeleteParams{})}},
	}
}

func createCustomer(c *call) (any, *apiError) {
	cust := &customer{id: c.s.ids.next1("cus"), created: c.now, taxExempt: "none", nextInvoiceSequence: 1, metadata: map[string]string{}}
	cust.invoicePrefix = fmt.Sprintf("SIM%06d", c.s.ids.counter("invoice_prefix"))
	if e := applyCustomerParams(cust, c.params); e != nil {
		return nil, e
	}
	c.acct.customers.add(cust.id, cust)
	c.emit("customer.created", renderCustomer(cust), nil)
	return renderCustomer(cust), nil
}

// liveCustomer finds a customer that exists and is not deleted.
func (a *account) liveCustomer(id string) (*customer, bool) {
	cust, ok := a.customers.get(id)
	if !ok || cust.deleted {
		return nil, false
	}
	return cust, true
}

func retrieveCustomer(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	cust, ok := c.acct.customers.get(id)
	if !ok {
		return nil, noSuchInPath("customer", id, "id")
	}
	if cust.deleted {
		// Stripe still answers a deleted customer's id, with the deletion stub.
		return deletedJSON{ID: cust.id, Object: "customer", Deleted: true}, nil
	}
	return renderCustomer(cust), nil
}

func updateCustomer(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	cust, ok := c.acct.liveCustomer(id)
	if !ok {
		return nil, noSuchInPath("customer", id, "id")
	}
	before := renderCustomer(cust)
	updated := *cust
	if e := applyCustomerParams(&updated, c.params); e != nil {
		return nil, e
	}
	*cust = updated
	after := renderCustomer(cust)
	c.emit("customer.updated", after, before)
	return after, nil
}

func deleteCustomer(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	cust, ok := c.acct.liveCustomer(id)
	if !ok {
		return nil, noSuchInPath("customer", id, "id")
	}
	cust.deleted = true
	c.emit("customer.deleted", renderCustomer(cust), nil)
	return deletedJSON{ID: cust.id, Object: "customer", Deleted: true}, nil
}

func listCustomers(c *call) (any, *apiError) {
	email := c.params.strOf("email")
	created := createdFilter(c.params.get("created"))
	var items []*customer
	for _, cust := range c.acct.customers.newestFirst() {
		if cust.deleted || (email != "" && cust.email != email) || !created(cust.created) {
			continue
		}
		items = append(items, cust)
	}
	return paginate(c, items, func(x *customer) string { return x.id }, "customer", "/v1/customers",
		func(x *customer) any { return renderCustomer(x) })
}

// applyCustomerParams writes create or update parameters onto cust. On update an empty value
// unsets a field, as everywhere in Stripe's API.
func applyCustomerParams(cust *customer, p *param) *apiError {
	for _, f := range []struct {
		name string
		dst  *string
	}{{"name", &cust.name}, {"email", &cust.email}, {"phone", &cust.phone}, {"description", &cust.description}} {
		if p.has(f.name) {
			*f.dst = p.strOf(f.name)
		}
	}
	if cust.email != "" && (!strings.Contains(cust.email, "@") || strings.ContainsAny(cust.email, " \t")) {
		return invalidParam("email_invalid", "email", "Invalid email address: %s", cust.email)
	}
	if p.has("address") {
		cust.address = parseAddress(p.get("address"))
	}
	if p.has("shipping") {
		sp := p.get("shipping")
		if sp.isEmpty() {
			cust.shipping = nil
		} else {
			if sp.strOf("name") == "" {
				return missingParam("shipping[name]")
			}
			if !sp.has("address") {
				return missingParam("shipping[address]")
			}
			cust.shipping = &shipping{name: sp.strOf("name"), phone: sp.strOf("phone"), address: parseAddress(sp.get("address"))}
		}
	}
	md, e := applyMetadata(cust.metadata, p.get("metadata"), "metadata")
	if e != nil {
		return e
	}
	cust.metadata = md
	if p.has("invoice_prefix") {
		prefix := p.strOf("invoice_prefix")
		if !invoicePrefixPattern.MatchString(prefix) {
			return invalidParam("", "invoice_prefix",
				"Invalid invoice_prefix: must be 3 to 12 uppercase letters or digits, got %q.", prefix)
		}
		cust.invoicePrefix = prefix
	}
	if p.has("preferred_locales") {
		cust.locales = p.get("preferred_locales").strings()
	}
	if v := p.strOf("tax_exempt"); v != "" {
		cust.taxExempt = v
	}
	if n, ok := p.int64Of("balance"); ok {
		cust.balance = n
	}
	return nil
}

// parseAddress reads an address hash; "" unsets the address.
func parseAddress(p *param) *address {
	if p == nil || p.isEmpty() {
		return nil
	}
	return &address{
		Line1: p.strOf("line1"), Line2: p.strOf("line2"), City: p.strOf("city"),
		State: p.strOf("state"), PostalCode: p.strOf("postal_code"), Country: strings.ToUpper(p.strOf("country")),
	}
}

// customerJSON is Stripe's customer object.
type customerJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Address             *addressJSON        `json:"address"`
	Balance             int64               `json:"balance"`
	Created             int64               `json:"created"`
	Currency            *string             `json:"currency"`
	DefaultSource       *string             `json:"default_source"`
	Delinquent          bool                `json:"delinquent"`
	Description         *string             `json:"description"`
	Discount            *string             `json:"discount"`
	Email               *string             `json:"email"`
	InvoicePrefix       string              `json:"invoice_prefix"`
	InvoiceSettings     invoiceSettingsJSON `json:"invoice_settings"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	Name                *string             `json:"name"`
	NextInvoiceSequence int64               `json:"next_invoice_sequence"`
	Phone               *string             `json:"phone"`
	PreferredLocales    []string            `json:"preferred_locales"`
	Shipping            *shippingJSON       `json:"shipping"`
	TaxExempt           string              `json:"tax_exempt"`
	TestClock           *string             `json:"test_clock"`
}

type invoiceSettingsJSON struct {
	CustomFields         []CustomField `json:"custom_fields"`
	DefaultPaymentMethod *string       `json:"default_payment_method"`
	Footer               *string       `json:"footer"`
	RenderingOptions     *string       `json:"rendering_options"`
}

type addressJSON struct {
	City       *string `json:"city"`
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	Line2      *string `json:"line2"`
	PostalCode *string `json:"postal_code"`
	State      *string `json:"state"`
}

type shippingJSON struct {
	Address *addressJSON `json:"address"`
	Name    string       `json:"name"`
	Phone   *string      `json:"phone"`
}

// deletedJSON is the stub Stripe answers for a deleted object.
type deletedJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

func renderAddress(a *address) *addressJSON {
	if a == nil {
		return nil
	}
	return &addressJSON{
		City: nullable(a.City), Country: nullable(a.Country), Line1: nullable(a.Line1), Line2: nullable(a.Line2),
		PostalCode: nullable(a.PostalCode), State: nullable(a.State),
	}
}

func renderShipping(sh *shipping) *shippingJSON {
	if sh == nil {
		return nil
	}
	return &shippingJSON{Address: renderAddress(sh.address), Name: sh.name, Phone: nullable(sh.phone)}
}

func renderCustomer(cust *customer) customerJSON {
	locales := cust.locales
	if locales == nil {
		locales = []string{}
	}
	return customerJSON{
		ID: cust.id, Object: "customer",
		Address: renderAddress(cust.address), Balance: cust.balance, Created: cust.created,
		Currency: nullable(cust.currency), Description: nullable(cust.description), Email: nullable(cust.email),
		InvoicePrefix: cust.invoicePrefix, Metadata: cust.metadata, Name: nullable(cust.name),
		NextInvoiceSequence: cust.nextInvoiceSequence, Phone: nullable(cust.phone), PreferredLocales: locales,
		Shipping: renderShipping(cust.shipping), TaxExempt: cust.taxExempt,
	}
}
