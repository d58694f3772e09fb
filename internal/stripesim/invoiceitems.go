package stripesim

import (
	"slices"

	"github.com/stripe/stripe-go/v82"
)

// Invoice items can be created on their own (one per call, pending until an invoice takes
// them, or straight onto a draft with invoice=in_...). They cannot carry tax amounts: those
// live on invoice lines only, which is why taxflow writes lines with add_lines.

func invoiceItemFieldsSpec(creating bool) map[string]spec {
	f := map[string]spec{
		"amount": integer(), "description": str(), "discountable": boolean(), "metadata": metadataSpec(),
		"period": obj(map[string]spec{"start": integer(), "end": integer()}),
		"price_data": obj(map[string]spec{
			"currency": str(), "product": str(), "tax_behavior": oneOf("inclusive", "exclusive", "unspecified"),
			"unit_amount": integer(), "unit_amount_decimal": dec(),
		}),
		"pricing":  obj(map[string]spec{"price": str()}),
		"quantity": integer(),
	}
	if creating {
		f["customer"] = str()
		f["currency"] = str()
		f["invoice"] = str()
	}
	return f
}

func (s *Server) invoiceItemRoutes() []route {
	return []route{
		{method: "POST", pattern: "/v1/invoiceitems", fn: createInvoiceItem, expandable: []string{"customer", "invoice"},
			params: endpointParams{withExpand(invoiceItemFieldsSpec(true)), knownFrom(stripe.InvoiceItemCreateParams{})}},
		{method: "GET", pattern: "/v1/invoiceitems", fn: listInvoiceItems,
			params: endpointParams{listSpec(map[string]spec{"customer": str(), "invoice": str(), "pending": boolean(), "created": intOrRange()}),
				knownFrom(stripe.InvoiceItemListParams{})}},
		{method: "GET", pattern: "/v1/invoiceitems/{id}", fn: retrieveInvoiceItem, expandable: []string{"customer", "invoice"},
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.InvoiceItemRetrieveParams{})}},
		{method: "POST", pattern: "/v1/invoiceitems/{id}", fn: updateInvoiceItem, expandable: []string{"customer", "invoice"},
			params: endpointParams{withExpand(invoiceItemFieldsSpec(false)), knownFrom(stripe.InvoiceItemUpdateParams{})}},
		{method: "DELETE", pattern: "/v1/invoiceitems/{id}", fn: deleteInvoiceItem,
			params: endpointParams{obj(map[string]spec{}), knownFrom(stripe.InvoiceItemDeleteParams{})}},
	}
}

func createInvoiceItem(c *call) (any, *apiError) {
	p := c.params
	if !p.has("customer") {
		return nil, missingParam("customer")
	}
	custID := p.strOf("customer")
	cust, ok := c.acct.liveCustomer(custID)
	if !ok {
		return nil, noSuchInBody("customer", custID, "customer")
	}
	var inv *invoice
	currency := cust.currency
	if id := p.strOf("invoice"); id != "" {
		found, ok := c.acct.invoices.get(id)
		if !ok || found.deleted {
			return nil, noSuchInBody("invoice", id, "invoice")
		}
		if found.status != statusDraft {
			return nil, notEditable()
		}
		if found.customer != cust.id {
			return nil, invalidRequest("", "invoice", "The invoice %s belongs to another customer.", id)
		}
		if len(found.lines) >= maxInvoiceLines {
			return nil, invalidRequest("", "invoice", "An invoice can have at most %d line items.", maxInvoiceLines)
		}
		inv, currency = found, found.currency
	}
	if p.has("currency") {
		cur, e := checkCurrency(p.strOf("currency"), "currency")
		if e != nil {
			return nil, e
		}
		if inv != nil && cur != inv.currency {
			return nil, invalidParam("", "currency", "The currency (%s) must match the invoice currency (%s).", cur, inv.currency)
		}
		currency = cur
	}
	if currency == "" {
		currency = c.s.opts.DefaultCurrency
	}
	in, e := parseLineInput(p, "")
	if e != nil {
		return nil, e
	}
	planned, e := c.planItem(nil, in, currency)
	if e != nil {
		return nil, e
	}
	planned.customer = cust.id
	var before *invoiceJSON
	if inv != nil {
		b := c.renderInvoice(inv)
		before = &b
		planned.invoice = inv.id
	}
	item := c.storeItem(planned, nil)
	c.emit("invoiceitem.created", renderInvoiceItem(item), nil)
	if inv != nil {
		inv.lines = append(inv.lines, &invoiceLine{id: c.s.ids.next1("il"), item: item})
		c.automaticTaxChanged(inv)
		c.emit("invoice.updated", c.renderInvoice(inv), *before)
	}
	return c.respondInvoiceItem(item), nil
}

// loadInvoiceItem finds the item named in the path.
func (c *call) loadInvoiceItem() (*invoiceItem, *apiError) {
	id := c.r.PathValue("id")
	it, ok := c.acct.invoiceItems.get(id)
	if !ok {
		return nil, noSuchInPath("invoiceitem", id, "id")
	}
	return it, nil
}

func retrieveInvoiceItem(c *call) (any, *apiError) {
	it, e := c.loadInvoiceItem()
	if e != nil {
		return nil, e
	}
	if it.deleted {
		return nil, noSuchInPath("invoiceitem", it.id, "id")
	}
	return c.respondInvoiceItem(it), nil
}

// editableInvoiceOf returns the draft an item sits on (nil for a pending item), or the
// refusal when the item can no longer change.
func (c *call) editableInvoiceOf(it *invoiceItem) (*invoice, *apiError) {
	if it.deleted {
		return nil, invalidRequest("", "id", "This invoice item has been deleted.")
	}
	if it.invoice == "" {
		return nil, nil
	}
	inv, _ := c.acct.invoices.get(it.invoice)
	if inv.status != statusDraft {
		return nil, notEditable()
	}
	return inv, nil
}

func updateInvoiceItem(c *call) (any, *apiError) {
	it, e := c.loadInvoiceItem()
	if e != nil {
		return nil, e
	}
	inv, e := c.editableInvoiceOf(it)
	if e != nil {
		return nil, e
	}
	in, e := parseLineInput(c.params, "")
	if e != nil {
		return nil, e
	}
	planned, e := c.planItem(it, in, it.currency)
	if e != nil {
		return nil, e
	}
	var before invoiceJSON
	if inv != nil {
		before = c.renderInvoice(inv)
	}
	itemBefore := renderInvoiceItem(it)
	c.storeItem(planned, it)
	c.emit("invoiceitem.updated", renderInvoiceItem(it), itemBefore)
	if inv != nil {
		c.automaticTaxChanged(inv)
		c.emit("invoice.updated", c.renderInvoice(inv), before)
	}
	return c.respondInvoiceItem(it), nil
}

func deleteInvoiceItem(c *call) (any, *apiError) {
	it, e := c.loadInvoiceItem()
	if e != nil {
		return nil, e
	}
	inv, e := c.editableInvoiceOf(it)
	if e != nil {
		return nil, e
	}
	if inv != nil {
		before := c.renderInvoice(inv)
		inv.lines = slices.DeleteFunc(inv.lines, func(l *invoiceLine) bool { return l.item == it })
		c.automaticTaxChanged(inv)
		c.emit("invoice.updated", c.renderInvoice(inv), before)
	}
	it.deleted = true
	c.emit("invoiceitem.deleted", renderInvoiceItem(it), nil)
	return deletedJSON{ID: it.id, Object: "invoiceitem", Deleted: true}, nil
}

func listInvoiceItems(c *call) (any, *apiError) {
	p := c.params
	customerID, invoiceID := p.strOf("customer"), p.strOf("invoice")
	pending, filterPending := p.boolOf("pending")
	created := createdFilter(p.get("created"))
	var items []*invoiceItem
	for _, it := range c.acct.invoiceItems.newestFirst() {
		if it.deleted || (customerID != "" && it.customer != customerID) || (invoiceID != "" && it.invoice != invoiceID) ||
			(filterPending && (it.invoice == "") != pending) || !created(it.date) {
			continue
		}
		items = append(items, it)
	}
	return paginate(c, items, func(x *invoiceItem) string { return x.id }, "invoiceitem", "/v1/invoiceitems",
		func(x *invoiceItem) any { return renderInvoiceItem(x) })
}

// invoiceItemJSON is Stripe's invoice item object (basil shape).
type invoiceItemJSON struct {
	ID           string            `json:"id"`
	Object       string            `json:"object"`
	Amount       int64             `json:"amount"`
	Currency     string            `json:"currency"`
	Customer     any               `json:"customer"`
	Date         int64             `json:"date"`
	Description  *string           `json:"description"`
	Discountable bool              `json:"discountable"`
	Discounts    []any             `json:"discounts"`
	Invoice      any               `json:"invoice"`
	Livemode     bool              `json:"livemode"`
	Metadata     map[string]string `json:"metadata"`
	Parent       *string           `json:"parent"`
	Period       periodJSON        `json:"period"`
	Pricing      pricingJSON       `json:"pricing"`
	Proration    bool              `json:"proration"`
	Quantity     int64             `json:"quantity"`
	TaxRates     []any             `json:"tax_rates"`
	TestClock    *string           `json:"test_clock"`
}

func renderInvoiceItem(it *invoiceItem) invoiceItemJSON {
	var inv any
	if it.invoice != "" {
		inv = it.invoice
	}
	return invoiceItemJSON{
		ID: it.id, Object: "invoiceitem", Amount: it.amount, Currency: it.currency, Customer: it.customer,
		Date: it.date, Description: nullable(it.description), Discountable: it.discountable, Discounts: []any{},
		Invoice: inv, Metadata: it.metadata, Period: periodJSON{Start: it.periodStart, End: it.periodEnd},
		Pricing: renderPricing(it), Quantity: it.quantity, TaxRates: []any{},
	}
}

func (c *call) respondInvoiceItem(it *invoiceItem) invoiceItemJSON {
	out := renderInvoiceItem(it)
	if c.expands("customer") {
		if cust, ok := c.acct.customers.get(it.customer); ok {
			out.Customer = renderCustomer(cust)
		}
	}
	if c.expands("invoice") && it.invoice != "" {
		if inv, ok := c.acct.invoices.get(it.invoice); ok {
			out.Invoice = c.renderInvoice(inv)
		}
	}
	return out
}
