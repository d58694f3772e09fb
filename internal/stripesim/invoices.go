package stripesim

import (
	"fmt"
	"maps"
	"slices"

	"github.com/stripe/stripe-go/v82"
)

// Invoice statuses. draft → open by finalization; open → paid | void | uncollectible;
// uncollectible → paid | void; paid and void are terminal.
const (
	statusDraft         = "draft"
	statusOpen          = "open"
	statusPaid          = "paid"
	statusVoid          = "void"
	statusUncollectible = "uncollectible"

	collectChargeAutomatically = "charge_automatically"
	collectSendInvoice         = "send_invoice"
)

// invoice is a Stripe invoice. Totals are derived from the lines whenever they are needed;
// what finalization fixes for good (number, balances, amount due, the customer's details) is
// stored.
type invoice struct {
	id               string
	customer         string
	currency         string
	status           string
	deleted          bool
	created          int64
	autoAdvance      bool
	collectionMethod string
	dueDate          int64
	description      string
	footer           string
	metadata         map[string]string
	customFields     []CustomField
	effectiveAt      int64 // 0: the finalization time, once there is one
	automaticTax     automaticTax
	lines            []*invoiceLine

	// Fixed at finalization.
	number                string
	finalizedAt           int64
	startingBalance       int64
	endingBalance         int64
	amountDue             int64
	customerAtFinalize    *customer // Stripe freezes customer_name, _email, _address... here
	lastFinalizationError *apiError

	// Payment and later transitions.
	amountPaid            int64
	attempted             bool
	attemptCount          int64
	paidAt                int64
	voidedAt              int64
	markedUncollectibleAt int64

	// taxGen numbers the Anrok app's calculations: only the latest one may answer.
	taxGen int64
	// paymentIntent and invoicePayment are the invoice's payment (basil links them through
	// the InvoicePayment; the payment intent does not name the invoice). "" until the first
	// payment attempt.
	paymentIntent  string
	invoicePayment string
	// Credit notes issued (and not voided) before and after payment.
	prePaymentCreditNotes  int64
	postPaymentCreditNotes int64
}

type automaticTax struct {
	enabled       bool
	liabilityType string
	// status is complete | failed | requires_location_inputs, or "" (null): disabled, or
	// waiting for a third-party app's answer.
	status   string
	provider string
}

// invoiceTotals are an invoice's amounts computed from its lines the way Stripe computes them.
type invoiceTotals struct {
	subtotal          int64 // sum of line amounts
	subtotalExclTax   int64 // subtotal minus inclusive taxes
	totalExclTax      int64 // no discounts are modelled, so the same as subtotalExclTax
	total             int64 // subtotal plus exclusive taxes
	taxes             []taxTotal
	inclusiveTaxTotal int64
	exclusiveTaxTotal int64
}

// taxTotal is one entry of total_taxes: the line taxes of one tax rate and taxability
// reason, summed.
type taxTotal struct {
	amount, taxableAmount int64
	behavior, reason      string
	rate                  string
}

func (inv *invoice) totals() invoiceTotals {
	var t invoiceTotals
	index := map[string]int{}
	for _, l := range inv.lines {
		t.subtotal += l.item.amount
		for _, tx := range l.taxes {
			if tx.rate.data.inclusive {
				t.inclusiveTaxTotal += tx.amount
			} else {
				t.exclusiveTaxTotal += tx.amount
			}
			key := tx.rate.id + "\x00" + tx.taxabilityReason
			if i, ok := index[key]; ok {
				t.taxes[i].amount += tx.amount
				t.taxes[i].taxableAmount += tx.taxableAmount
				continue
			}
			index[key] = len(t.taxes)
			t.taxes = append(t.taxes, taxTotal{
				amount: tx.amount, taxableAmount: tx.taxableAmount, behavior: tx.behavior(),
				reason: tx.taxabilityReason, rate: tx.rate.id,
			})
		}
	}
	t.subtotalExclTax = t.subtotal - t.inclusiveTaxTotal
	t.totalExclTax = t.subtotalExclTax
	t.total = t.subtotal + t.exclusiveTaxTotal
	return t
}

// invoiceAmounts are the balance-dependent amounts of an invoice.
type invoiceAmounts struct {
	startingBalance int64
	amountDue       int64
	amountPaid      int64
	amountRemaining int64
	endingBalance   *int64 // null until finalization
}

// amounts computes the amounts of an invoice. A draft shows the customer's current balance
// and the amount due it would lead to; finalization fixes both.
func (a *account) amounts(inv *invoice, t invoiceTotals) invoiceAmounts {
	if inv.finalizedAt != 0 {
		ending := inv.endingBalance
		return invoiceAmounts{
			startingBalance: inv.startingBalance, amountDue: inv.amountDue, amountPaid: inv.amountPaid,
			amountRemaining: inv.amountDue - inv.amountPaid, endingBalance: &ending,
		}
	}
	starting := a.balanceFor(inv)
	due := max(0, t.total+starting)
	return invoiceAmounts{startingBalance: starting, amountDue: due, amountRemaining: due}
}

// balanceFor is the customer balance that applies to an invoice: the customer's balance is
// held in the customer's currency, and a customer without one takes the first invoice's.
func (a *account) balanceFor(inv *invoice) int64 {
	cust, ok := a.customers.get(inv.customer)
	if !ok || (cust.currency != "" && cust.currency != inv.currency) {
		return 0
	}
	return cust.balance
}

// settle applies Stripe's finalization rules to an invoice total and the customer's balance:
// a negative result stays with the customer as credit; a positive result below the
// currency's minimum charge cannot be collected, so the invoice is settled (amount due 0) and
// the amount is carried to the customer's balance for the next invoice.
func settle(total, startingBalance int64, currency string) (amountDue, endingBalance int64) {
	due := total + startingBalance
	switch {
	case due < 0:
		return 0, due
	case due > 0 && due < minimumCharge[currency]:
		return 0, due
	default:
		return due, 0
	}
}

func invoiceFieldsSpec(creating bool) map[string]spec {
	f := map[string]spec{
		"auto_advance": boolean(),
		"automatic_tax": obj(map[string]spec{
			"enabled":   boolean(),
			"liability": obj(map[string]spec{"type": oneOf("self", "account")}),
		}),
		"collection_method": oneOf(collectChargeAutomatically, collectSendInvoice),
		"custom_fields":     listOf(obj(map[string]spec{"name": str(), "value": str()})),
		"days_until_due":    integer(),
		"due_date":          integer(),
		"description":       str(),
		"effective_at":      integer(),
		"footer":            str(),
		"metadata":          metadataSpec(),
	}
	if creating {
		f["customer"] = str()
		f["currency"] = str()
		f["pending_invoice_items_behavior"] = oneOf("exclude", "include")
	}
	return f
}

func (s *Server) invoiceRoutes() []route {
	expandOne := []string{"customer"}
	expandList := []string{"data.customer"}
	only := func(known any, extra map[string]spec) endpointParams {
		return endpointParams{withExpand(extra), knownFrom(known)}
	}
	addLineSpec := lineFieldsSpec()
	addLineSpec["invoice_item"] = str()
	updateLineSpec := lineFieldsSpec()
	updateLineSpec["id"] = str()
	return []route{
		{method: "POST", pattern: "/v1/invoices", fn: createInvoice, expandable: expandOne,
			params: only(stripe.InvoiceCreateParams{}, invoiceFieldsSpec(true))},
		{method: "GET", pattern: "/v1/invoices", fn: listInvoices, expandable: expandList,
			params: endpointParams{listSpec(map[string]spec{
				"customer": str(), "status": oneOf(statusDraft, statusOpen, statusVoid, statusPaid, statusUncollectible),
				"collection_method": oneOf(collectChargeAutomatically, collectSendInvoice),
				"created":           intOrRange(), "due_date": intOrRange(),
			}), knownFrom(stripe.InvoiceListParams{})}},
		{method: "GET", pattern: "/v1/invoices/{id}", fn: retrieveInvoice, expandable: expandOne,
			params: only(stripe.InvoiceRetrieveParams{}, map[string]spec{})},
		{method: "POST", pattern: "/v1/invoices/{id}", fn: updateInvoice, expandable: expandOne,
			params: only(stripe.InvoiceUpdateParams{}, invoiceFieldsSpec(false))},
		{method: "DELETE", pattern: "/v1/invoices/{id}", fn: deleteInvoice,
			params: endpointParams{obj(map[string]spec{}), knownFrom(stripe.InvoiceDeleteParams{})}},
		{method: "GET", pattern: "/v1/invoices/{id}/lines", fn: listInvoiceLines,
			params: endpointParams{listSpec(map[string]spec{}), knownFrom(stripe.InvoiceListLinesParams{})}},
		{method: "POST", pattern: "/v1/invoices/{id}/lines/{line}", fn: updateInvoiceLine,
			params: only(stripe.InvoiceLineItemUpdateParams{}, lineFieldsSpec())},
		{method: "POST", pattern: "/v1/invoices/{id}/add_lines", fn: addLines, expandable: expandOne,
			params: only(stripe.InvoiceAddLinesParams{}, map[string]spec{
				"lines": listOf(obj(addLineSpec)), "invoice_metadata": metadataSpec(),
			})},
		{method: "POST", pattern: "/v1/invoices/{id}/update_lines", fn: updateLines, expandable: expandOne,
			params: only(stripe.InvoiceUpdateLinesParams{}, map[string]spec{
				"lines": listOf(obj(updateLineSpec)), "invoice_metadata": metadataSpec(),
			})},
		{method: "POST", pattern: "/v1/invoices/{id}/remove_lines", fn: removeLines, expandable: expandOne,
			params: only(stripe.InvoiceRemoveLinesParams{}, map[string]spec{
				"lines":            listOf(obj(map[string]spec{"id": str(), "behavior": oneOf("delete", "unassign")})),
				"invoice_metadata": metadataSpec(),
			})},
		{method: "POST", pattern: "/v1/invoices/{id}/finalize", fn: finalizeInvoice, expandable: expandOne,
			params: only(stripe.InvoiceFinalizeInvoiceParams{}, map[string]spec{"auto_advance": boolean()})},
		{method: "POST", pattern: "/v1/invoices/{id}/pay", fn: payInvoice, expandable: expandOne,
			params: only(stripe.InvoicePayParams{}, map[string]spec{"paid_out_of_band": boolean(), "forgive": boolean()})},
		{method: "POST", pattern: "/v1/invoices/{id}/void", fn: voidInvoice, expandable: expandOne,
			params: only(stripe.InvoiceVoidInvoiceParams{}, map[string]spec{})},
		{method: "POST", pattern: "/v1/invoices/{id}/mark_uncollectible", fn: markUncollectible, expandable: expandOne,
			params: only(stripe.InvoiceMarkUncollectibleParams{}, map[string]spec{})},
		{method: "POST", pattern: "/v1/invoices/{id}/send", fn: sendInvoice, expandable: expandOne,
			params: only(stripe.InvoiceSendInvoiceParams{}, map[string]spec{})},
	}
}

// loadInvoice finds the invoice named in the path. Stripe's 404s name the path parameter
// inconsistently ("invoice" for some endpoints, "id" for others); param follows it.
func (c *call) loadInvoice(param string) (*invoice, *apiError) {
	id := c.r.PathValue("id")
	inv, ok := c.acct.invoices.get(id)
	if !ok || inv.deleted {
		return nil, noSuchInPath("invoice", id, param)
	}
	return inv, nil
}

// notEditable is Stripe's refusal to change the lines of an invoice that is no longer a draft.
func notEditable() *apiError {
	return invalidRequest("invoice_not_editable", "", "Invalid invoice: This invoice is no longer editable")
}

// notOpen is Stripe's refusal of void and mark_uncollectible outside their source states.
func notOpen() *apiError {
	return invalidRequest("", "", "You can only pass in open invoices. This invoice isn't open.")
}

func createInvoice(c *call) (any, *apiError) {
	p := c.params
	if !p.has("customer") {
		return nil, missingParam("customer")
	}
	custID := p.strOf("customer")
	if custID == "" {
		return nil, emptyParam("customer")
	}
	cust, ok := c.acct.liveCustomer(custID)
	if !ok {
		return nil, noSuchInBody("customer", custID, "customer")
	}
	inv := &invoice{
		id: c.s.ids.next1("in"), customer: cust.id, status: statusDraft, created: c.now,
		collectionMethod: collectChargeAutomatically, metadata: map[string]string{},
	}
	// The currency defaults to the customer's, then to the account's.
	switch {
	case p.has("currency"):
		cur, e := checkCurrency(p.strOf("currency"), "currency")
		if e != nil {
			return nil, e
		}
		inv.currency = cur
	case cust.currency != "":
		inv.currency = cust.currency
	default:
		inv.currency = c.s.opts.DefaultCurrency
	}
	if e := c.applyInvoiceFields(inv, true); e != nil {
		return nil, e
	}
	c.acct.invoices.add(inv.id, inv)
	// Pending items join the invoice only when asked: since 2022 Stripe excludes them by
	// default. Included items come newest first.
	if p.strOf("pending_invoice_items_behavior") == "include" {
		for _, it := range c.acct.invoiceItems.newestFirst() {
			if it.deleted || it.invoice != "" || it.customer != inv.customer || it.currency != inv.currency {
				continue
			}
			if len(inv.lines) == maxInvoiceLines {
				break
			}
			it.invoice = inv.id
			inv.lines = append(inv.lines, &invoiceLine{id: c.s.ids.next1("il"), item: it})
		}
	}
	c.emit("invoice.created", c.renderInvoice(inv), nil)
	return c.respond(inv), nil
}

// applyInvoiceFields writes the create/update fields of an invoice, enforcing the rules
// between them. On an update of a finalized invoice only metadata (and, while open,
// auto_advance) may change: Stripe fixes everything else at finalization.
func (c *call) applyInvoiceFields(inv *invoice, creating bool) *apiError {
	p := c.params
	if !creating && inv.status != statusDraft {
		allowed := []string{"metadata", "expand"}
		if inv.status == statusOpen {
			allowed = append(allowed, "auto_advance")
		}
		for _, name := range p.order {
			if !slices.Contains(allowed, name) {
				return invalidRequest("", name, "Finalized invoices can't be updated in this way")
			}
		}
	}
	if v, ok := p.boolOf("auto_advance"); ok {
		inv.autoAdvance = v
	}
	if p.has("collection_method") {
		inv.collectionMethod = p.strOf("collection_method")
		if inv.collectionMethod == "" {
			inv.collectionMethod = collectChargeAutomatically
		}
	}
	days, hasDays := p.int64Of("days_until_due")
	due, hasDue := p.int64Of("due_date")
	if hasDays && hasDue {
		return exclusiveParams("days_until_due", "days_until_due", "due_date")
	}
	if hasDays && days < 0 {
		return invalidParam("", "days_until_due", "Invalid days_until_due: must be a non-negative integer, got %d.", days)
	}
	switch {
	case inv.collectionMethod != collectSendInvoice && (hasDays || hasDue):
		return invalidParam("", "", "You can only specify 'due_date' or 'days_until_due' if invoice collection method is 'send_invoice'.")
	case inv.collectionMethod != collectSendInvoice:
		inv.dueDate = 0
	case hasDays:
		// days_until_due counts from the invoice's creation (Stripe: "the number of days
		// from when the invoice is created until it is due").
		inv.dueDate = inv.created + days*86400
	case hasDue:
		inv.dueDate = due
	case inv.dueDate == 0:
		return invalidParam("", "", "If invoice collection method is 'send_invoice', you must specify 'due_date' or 'days_until_due'.")
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"description", &inv.description}, {"footer", &inv.footer}} {
		if p.has(f.name) {
			*f.dst = p.strOf(f.name)
		}
	}
	if p.has("effective_at") {
		inv.effectiveAt, _ = p.int64Of("effective_at")
	}
	if p.has("custom_fields") {
		fields, e := parseCustomFields(p.get("custom_fields"))
		if e != nil {
			return e
		}
		inv.customFields = fields
	}
	md, e := applyMetadata(inv.metadata, p.get("metadata"), "metadata")
	if e != nil {
		return e
	}
	inv.metadata = md
	if at := p.get("automatic_tax"); at != nil {
		if e := c.applyAutomaticTax(inv, at); e != nil {
			return e
		}
	}
	return nil
}

// applyAutomaticTax turns automatic tax on or off. Stripe computes tax itself then, so lines
// may not carry tax_amounts of their own.
func (c *call) applyAutomaticTax(inv *invoice, p *param) *apiError {
	disable := func() {
		if usesAnrokApp(inv) {
			// The app's taxes go with it.
			for _, l := range inv.lines {
				l.taxes = nil
			}
		}
		inv.automaticTax = automaticTax{}
	}
	if p.isEmpty() {
		disable()
		return nil
	}
	enabled, ok := p.boolOf("enabled")
	if !ok {
		return missingParam("automatic_tax[enabled]")
	}
	if !enabled {
		disable()
		return nil
	}
	for _, l := range inv.lines {
		if len(l.taxes) > 0 {
			return invalidParam("", "automatic_tax[enabled]",
				"You cannot enable automatic tax on an invoice whose line items have tax_amounts.")
		}
	}
	liability := p.get("liability").strOf("type")
	switch liability {
	case "":
		liability = "self"
	case "account":
		return notModelled("automatic_tax[liability][type]")
	}
	if usesAnrokApp(inv) {
		inv.automaticTax.liabilityType = liability
		return nil // already on: a calculation is done or under way
	}
	inv.automaticTax = automaticTax{enabled: true, liabilityType: liability, provider: c.s.opts.AutomaticTaxProvider}
	if usesAnrokApp(inv) {
		c.automaticTaxChanged(inv)
		return nil
	}
	c.refreshAutomaticTax(inv)
	return nil
}

// refreshAutomaticTax recomputes automatic_tax.status of Stripe's own tax engine: tax can be
// calculated only for a customer with a recognisable location (the simulator requires an
// address country). The simulated Stripe Tax charges no tax. The Anrok app answers on its
// own schedule instead (anrokapp.go).
func (c *call) refreshAutomaticTax(inv *invoice) {
	if !inv.automaticTax.enabled || usesAnrokApp(inv) {
		return
	}
	inv.automaticTax.status = "requires_location_inputs"
	if cust, ok := c.acct.customers.get(inv.customer); ok && cust.address != nil && cust.address.Country != "" {
		inv.automaticTax.status = "complete"
	}
}

func retrieveInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	return c.respond(inv), nil
}

func updateInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("id")
	if e != nil {
		return nil, e
	}
	before := c.renderInvoice(inv)
	updated := *inv
	updated.metadata = maps.Clone(inv.metadata)
	if e := c.applyInvoiceFields(&updated, false); e != nil {
		return nil, e
	}
	*inv = updated
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return c.respond(inv), nil
}

func deleteInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, invalidRequest("", "", "You can only delete draft invoices.")
	}
	out := c.renderInvoice(inv)
	inv.deleted = true
	// The items stay attached to the deleted draft and die with it; Stripe does not release
	// them back to pending.
	for _, l := range inv.lines {
		l.item.deleted = true
	}
	c.emit("invoice.deleted", out, nil)
	return deletedJSON{ID: inv.id, Object: "invoice", Deleted: true}, nil
}

func listInvoices(c *call) (any, *apiError) {
	p := c.params
	customerID, status, method := p.strOf("customer"), p.strOf("status"), p.strOf("collection_method")
	created, due := createdFilter(p.get("created")), createdFilter(p.get("due_date"))
	var items []*invoice
	for _, inv := range c.acct.invoices.newestFirst() {
		if inv.deleted || (customerID != "" && inv.customer != customerID) || (status != "" && inv.status != status) ||
			(method != "" && inv.collectionMethod != method) || !created(inv.created) ||
			(p.has("due_date") && (inv.dueDate == 0 || !due(inv.dueDate))) {
			continue
		}
		items = append(items, inv)
	}
	expandCustomer := c.expands("data.customer")
	return paginate(c, items, func(x *invoice) string { return x.id }, "invoice", "/v1/invoices",
		func(x *invoice) any { return c.renderInvoiceExpanding(x, expandCustomer, linesEmbedded) })
}

func listInvoiceLines(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	return paginate(c, inv.lines, func(l *invoiceLine) string { return l.id }, "invoice line item",
		"/v1/invoices/"+inv.id+"/lines", func(l *invoiceLine) any { return renderLine(l) })
}

// plannedLine is one validated line change, applied only once every line of the request has
// been validated: Stripe applies a request's lines all or not at all.
type plannedLine struct {
	line  *invoiceLine // the line updated; nil for a new line
	base  *invoiceItem // the existing item the plan replaces or assigns; nil for a new item
	item  *invoiceItem
	taxes *[]taxAmountInput
}

func addLines(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, notEditable()
	}
	lines, e := requiredLines(c.params)
	if e != nil {
		return nil, e
	}
	plans := make([]plannedLine, 0, len(lines))
	for i, lp := range lines {
		path := paramPath("lines", itoa(i))
		in, e := parseLineInput(lp, path)
		if e != nil {
			return nil, e
		}
		var base *invoiceItem
		if id := lp.strOf("invoice_item"); id != "" {
			if in.hasPricing() || in.quantity != nil {
				return nil, exclusiveParams(paramPath(path, "invoice_item"), "invoice_item", "amount", "price_data", "pricing", "quantity")
			}
			if base, e = c.pendingItemFor(inv, id, paramPath(path, "invoice_item")); e != nil {
				return nil, e
			}
		}
		if e := checkTaxAmountsAllowed(inv, in); e != nil {
			return nil, e
		}
		item, e := c.planItem(base, in, inv.currency)
		if e != nil {
			return nil, e
		}
		plans = append(plans, plannedLine{base: base, item: item, taxes: in.taxAmounts})
	}
	if len(inv.lines)+len(plans) > maxInvoiceLines {
		return nil, invalidRequest("", "lines",
			"An invoice can have at most %d line items; this invoice has %d and the request adds %d.",
			maxInvoiceLines, len(inv.lines), len(plans))
	}
	md, e := applyMetadata(inv.metadata, c.params.get("invoice_metadata"), "invoice_metadata")
	if e != nil {
		return nil, e
	}

	before := c.renderInvoice(inv)
	inv.metadata = md
	for _, pl := range plans {
		pl.item.customer, pl.item.invoice = inv.customer, inv.id
		created := pl.base == nil
		item := c.storeItem(pl.item, pl.base)
		if created {
			c.emit("invoiceitem.created", renderInvoiceItem(item), nil)
		}
		line := &invoiceLine{id: c.s.ids.next1("il"), item: item}
		if pl.taxes != nil {
			line.taxes = c.lineTaxes(*pl.taxes)
		}
		inv.lines = append(inv.lines, line)
	}
	c.automaticTaxChanged(inv)
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return c.respond(inv), nil
}

// pendingItemFor checks that an invoice item can be assigned to the invoice.
func (c *call) pendingItemFor(inv *invoice, id, param string) (*invoiceItem, *apiError) {
	it, ok := c.acct.invoiceItems.get(id)
	if !ok || it.deleted {
		return nil, noSuchInBody("invoiceitem", id, param)
	}
	switch {
	case it.invoice != "":
		return nil, invalidRequest("", param, "The invoice item %s is already on invoice %s.", id, it.invoice)
	case it.customer != inv.customer:
		return nil, invalidRequest("", param, "The invoice item %s belongs to customer %s, not to the invoice's customer %s.", id, it.customer, inv.customer)
	case it.currency != inv.currency:
		return nil, invalidRequest("", param, "The invoice item %s is in %s, but the invoice is in %s.", id, it.currency, inv.currency)
	}
	return it, nil
}

// checkTaxAmountsAllowed enforces that tax amounts and automatic tax exclude each other.
func checkTaxAmountsAllowed(inv *invoice, in *lineInput) *apiError {
	if in.taxAmounts != nil && len(*in.taxAmounts) > 0 && inv.automaticTax.enabled {
		return invalidParam("", paramPath(in.path, "tax_amounts"),
			"You cannot set tax_amounts on a line item of an invoice with automatic tax enabled.")
	}
	return nil
}

// requiredLines returns the lines[] of a request, which must hold at least one line.
func requiredLines(p *param) ([]*param, *apiError) {
	if !p.has("lines") {
		return nil, missingParam("lines")
	}
	if p.get("lines").isEmpty() {
		return nil, emptyParam("lines")
	}
	return p.get("lines").items(), nil
}

func updateLines(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, notEditable()
	}
	lines, e := requiredLines(c.params)
	if e != nil {
		return nil, e
	}
	plans := make([]plannedLine, 0, len(lines))
	for i, lp := range lines {
		path := paramPath("lines", itoa(i))
		pl, e := c.planLineUpdate(inv, lp, path, lp.strOf("id"))
		if e != nil {
			return nil, e
		}
		plans = append(plans, pl)
	}
	md, e := applyMetadata(inv.metadata, c.params.get("invoice_metadata"), "invoice_metadata")
	if e != nil {
		return nil, e
	}
	before := c.renderInvoice(inv)
	inv.metadata = md
	for _, pl := range plans {
		c.applyLineUpdate(pl)
	}
	c.automaticTaxChanged(inv)
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return c.respond(inv), nil
}

// updateInvoiceLine is POST /v1/invoices/{id}/lines/{line}: one line, answered with the line.
func updateInvoiceLine(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, notEditable()
	}
	lineID := c.r.PathValue("line")
	if _, l := inv.lineByID(lineID); l == nil {
		return nil, noSuchInPath("invoice line item", lineID, "line_item_id")
	}
	pl, e := c.planLineUpdate(inv, c.params, "", lineID)
	if e != nil {
		return nil, e
	}
	before := c.renderInvoice(inv)
	c.applyLineUpdate(pl)
	c.automaticTaxChanged(inv)
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return renderLine(pl.line), nil
}

func (c *call) planLineUpdate(inv *invoice, lp *param, path, id string) (plannedLine, *apiError) {
	if id == "" {
		return plannedLine{}, missingParam(paramPath(path, "id"))
	}
	_, line := inv.lineByID(id)
	if line == nil {
		return plannedLine{}, noSuchInBody("invoice line item", id, paramPath(path, "id"))
	}
	in, e := parseLineInput(lp, path)
	if e != nil {
		return plannedLine{}, e
	}
	if e := checkTaxAmountsAllowed(inv, in); e != nil {
		return plannedLine{}, e
	}
	item, e := c.planItem(line.item, in, inv.currency)
	if e != nil {
		return plannedLine{}, e
	}
	return plannedLine{line: line, base: line.item, item: item, taxes: in.taxAmounts}, nil
}

func (c *call) applyLineUpdate(pl plannedLine) {
	c.storeItem(pl.item, pl.base)
	// tax_amounts replace the line's taxes; leaving them out keeps them.
	if pl.taxes != nil {
		pl.line.taxes = c.lineTaxes(*pl.taxes)
	}
}

func removeLines(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, notEditable()
	}
	lines, e := requiredLines(c.params)
	if e != nil {
		return nil, e
	}
	type removal struct {
		line     *invoiceLine
		behavior string
	}
	removals := make([]removal, 0, len(lines))
	for i, lp := range lines {
		path := paramPath("lines", itoa(i))
		id, behavior := lp.strOf("id"), lp.strOf("behavior")
		if id == "" {
			return nil, missingParam(paramPath(path, "id"))
		}
		if behavior == "" {
			return nil, missingParam(paramPath(path, "behavior"))
		}
		_, line := inv.lineByID(id)
		if line == nil {
			return nil, noSuchInBody("invoice line item", id, paramPath(path, "id"))
		}
		removals = append(removals, removal{line, behavior})
	}
	md, e := applyMetadata(inv.metadata, c.params.get("invoice_metadata"), "invoice_metadata")
	if e != nil {
		return nil, e
	}
	before := c.renderInvoice(inv)
	inv.metadata = md
	for _, r := range removals {
		i, _ := inv.lineByID(r.line.id)
		if i < 0 {
			continue // named twice in the request
		}
		inv.lines = slices.Delete(inv.lines, i, i+1)
		if r.behavior == "delete" {
			r.line.item.deleted = true
			c.emit("invoiceitem.deleted", renderInvoiceItem(r.line.item), nil)
		} else {
			// Unassigned items go back to pending and can join another invoice.
			r.line.item.invoice = ""
		}
	}
	c.automaticTaxChanged(inv)
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return c.respond(inv), nil
}

func finalizeInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("id")
	if e != nil {
		return nil, e
	}
	if inv.status != statusDraft {
		return nil, invalidRequest("", "", "This invoice is already finalized, you can't re-finalize a non-draft invoice.")
	}
	if v, ok := c.params.boolOf("auto_advance"); ok {
		inv.autoAdvance = v
	}
	if e := c.finalize(inv); e != nil {
		return nil, e
	}
	return c.respond(inv), nil
}

// finalize moves a draft to open: it fixes the number, the customer's details, the balance
// applied and the amount due. An invoice with nothing to collect (amount due 0, including
// totals under the currency's minimum charge) is paid at once, as Stripe does.
func (c *call) finalize(inv *invoice) *apiError {
	c.refreshAutomaticTax(inv)
	if inv.automaticTax.enabled && inv.automaticTax.status != autoTaxComplete {
		if inv.automaticTax.status == autoTaxRequiresLocationInput {
			inv.lastFinalizationError = invalidRequest("customer_tax_location_invalid", "customer",
				"The customer's location isn't recognized, so automatic tax cannot be calculated. Add an address with a country to the customer.")
		} else {
			// A third-party tax app that has not answered (or failed): Stripe cannot finalize
			// without the tax.
			state := "has not completed"
			if inv.automaticTax.status == autoTaxFailed {
				state = "failed"
			}
			inv.lastFinalizationError = invalidRequest("taxes_calculation_failed", "",
				"The tax calculation by the tax app %q %s, so the invoice cannot be finalized. Try again once automatic_tax.status is complete.",
				inv.automaticTax.provider, state)
		}
		c.emit("invoice.finalization_failed", c.renderInvoice(inv), nil)
		return inv.lastFinalizationError
	}
	t := inv.totals()
	cust, _ := c.acct.customers.get(inv.customer)
	starting := c.acct.balanceFor(inv)
	due, ending := settle(t.total, starting, inv.currency)
	if due > maxLineAmount {
		return invalidRequest("amount_too_large", "",
			"The invoice's amount due (%d) exceeds the maximum amount Stripe can charge (%d in the currency's smallest unit).",
			due, maxLineAmount)
	}
	// Stripe keeps a customer's balance per currency; the simulator models the balance of the
	// customer's own currency (set by its first finalized invoice). An invoice in another
	// currency neither uses nor changes it.
	if cust.currency == "" || cust.currency == inv.currency {
		cust.currency = inv.currency
		cust.balance = ending
	}
	frozen := *cust
	inv.customerAtFinalize = &frozen
	inv.number = fmt.Sprintf("%s-%04d", cust.invoicePrefix, cust.nextInvoiceSequence)
	cust.nextInvoiceSequence++
	inv.status = statusOpen
	inv.finalizedAt = c.now
	inv.startingBalance, inv.endingBalance, inv.amountDue = starting, ending, due
	if inv.effectiveAt == 0 {
		inv.effectiveAt = c.now
	}
	inv.lastFinalizationError = nil
	c.emit("invoice.finalized", c.renderInvoice(inv), nil)
	if due == 0 {
		inv.attempted = true
		inv.status, inv.paidAt = statusPaid, c.now
		c.emit("invoice.paid", c.renderInvoice(inv), nil)
	}
	return nil
}

func payInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("id")
	if e != nil {
		return nil, e
	}
	switch inv.status {
	case statusPaid:
		return nil, invalidRequest("", "", "Invoice is already paid")
	case statusVoid:
		return nil, invalidRequest("", "", "This invoice is void and can no longer be paid.")
	case statusDraft:
		// Paying a draft finalizes it first, in the same request.
		if e := c.finalize(inv); e != nil {
			return nil, e
		}
		if inv.status == statusPaid {
			return c.respond(inv), nil
		}
	}
	if outOfBand, _ := c.params.boolOf("paid_out_of_band"); outOfBand {
		c.cancelOpenPayment(inv)
		c.markPaid(inv, false)
		return c.respond(inv), nil
	}
	// The simulated customer's test card works here: the charge succeeds (FailInvoicePayment
	// simulates declines).
	c.payByCard(inv)
	return c.respond(inv), nil
}

func voidInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("id")
	if e != nil {
		return nil, e
	}
	switch inv.status {
	case statusOpen, statusUncollectible:
	case statusPaid:
		return nil, invalidRequest("", "", "Invoices with `paid` payments cannot be voided.")
	default:
		return nil, notOpen()
	}
	// The amounts stay as they were: a void invoice keeps its paper trail.
	inv.status, inv.voidedAt = statusVoid, c.now
	c.cancelOpenPayment(inv)
	c.emit("invoice.voided", c.renderInvoice(inv), nil)
	return c.respond(inv), nil
}

func markUncollectible(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("id")
	if e != nil {
		return nil, e
	}
	switch inv.status {
	case statusOpen:
	case statusUncollectible:
		return nil, invalidRequest("", "", "This invoice has already been marked uncollectible.")
	default:
		return nil, notOpen()
	}
	inv.status, inv.markedUncollectibleAt = statusUncollectible, c.now
	c.emit("invoice.marked_uncollectible", c.renderInvoice(inv), nil)
	return c.respond(inv), nil
}

func sendInvoice(c *call) (any, *apiError) {
	inv, e := c.loadInvoice("invoice")
	if e != nil {
		return nil, e
	}
	if inv.collectionMethod != collectSendInvoice {
		return nil, invalidRequest("", "", "You can only manually send an invoice if its collection method is 'send_invoice'.")
	}
	switch inv.status {
	case statusDraft:
		// Sending a draft finalizes it; test mode sends no email, only the event.
		if e := c.finalize(inv); e != nil {
			return nil, e
		}
	case statusOpen:
	default:
		return nil, invalidRequest("", "",
			"This invoice cannot be sent right now. Please contact us via https://support.stripe.com/contact with details, so we can help.")
	}
	c.emit("invoice.sent", c.renderInvoice(inv), nil)
	return c.respond(inv), nil
}
