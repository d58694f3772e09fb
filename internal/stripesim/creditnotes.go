package stripesim

import (
	"fmt"

	"github.com/shopspring/decimal"
	"github.com/stripe/stripe-go/v82"
)

// Credit notes, with the rules Stripe enforces on them:
//   - only open or paid invoices can be credited;
//   - lines are invoice_line_item lines (crediting part of an invoice line, by amount or by
//     quantity) or custom_line_item lines (unit_amount × quantity, with a description);
//   - a line's tax comes from its tax_amounts, each naming one of the invoice's tax rates
//     (txr_), or, for an invoice_line_item line without them, from the invoice line's own
//     taxes in proportion to the amount credited;
//   - the credit notes of an invoice (void ones aside) never add up to more than the invoice
//     total, and an invoice line is never credited beyond its amount or quantity;
//   - a credit note first reduces what is left to pay on the invoice (pre_payment_amount,
//     lowering amount_due; an open invoice credited in full is paid), and the rest
//     (post_payment_amount) must be accounted for exactly by credit_amount (to the
//     customer's balance), refund_amount (a refund of the invoice's charge) and
//     out_of_band_amount;
//   - voiding reverses the credit note's effect; a credit note with a refund cannot be voided
//     (a refund cannot be taken back), nor can a pre-payment credit note once its invoice is
//     no longer open.

const maxCreditNoteLines = maxInvoiceLines

var creditNoteReasons = []string{"duplicate", "fraudulent", "order_change", "product_unsatisfactory"}

type creditNote struct {
	id, number, invoice, customer, currency string
	status                                  string // issued | void
	reason, memo                            string
	metadata                                map[string]string
	lines                                   []*creditNoteLine
	created, effectiveAt, voidedAt          int64
	prePayment, postPayment                 int64
	creditAmount, refundAmount, outOfBand   int64
	customerBalanceTxn                      string
	refund                                  string // the refund created for refund_amount
}

type creditNoteLine struct {
	id, typ     string // invoice_line_item | custom_line_item
	invoiceLine string
	description string
	amount      int64 // what the line credits, before exclusive taxes
	quantity    int64 // 0: not given
	unitAmount  decimal.Decimal
	taxes       []lineTax
}

func creditNoteFieldsSpec() map[string]spec {
	taxAmount := obj(map[string]spec{"amount": integer(), "tax_rate": str(), "taxable_amount": integer()})
	return map[string]spec{
		"invoice": str(), "amount": integer(), "credit_amount": integer(), "refund_amount": integer(),
		"out_of_band_amount": integer(), "effective_at": integer(), "email_type": oneOf("credit_note", "none"),
		"memo": str(), "metadata": metadataSpec(), "reason": oneOf(creditNoteReasons...),
		"lines": listOf(obj(map[string]spec{
			"type":              oneOf("invoice_line_item", "custom_line_item"),
			"invoice_line_item": str(), "amount": integer(), "quantity": integer(), "description": str(),
			"unit_amount": integer(), "unit_amount_decimal": dec(), "tax_amounts": listOf(taxAmount),
		})),
	}
}

func (s *Server) creditNoteRoutes() []route {
	return []route{
		{method: "POST", pattern: "/v1/credit_notes", fn: createCreditNote,
			params: endpointParams{withExpand(creditNoteFieldsSpec()), knownFrom(stripe.CreditNoteCreateParams{})}},
		{method: "GET", pattern: "/v1/credit_notes/preview", fn: previewCreditNote,
			params: endpointParams{withExpand(creditNoteFieldsSpec()), knownFrom(stripe.CreditNotePreviewParams{})}},
		{method: "GET", pattern: "/v1/credit_notes", fn: listCreditNotes,
			params: endpointParams{listSpec(map[string]spec{"invoice": str(), "customer": str(), "created": intOrRange()}),
				knownFrom(stripe.CreditNoteListParams{})}},
		{method: "GET", pattern: "/v1/credit_notes/{id}", fn: retrieveCreditNote,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.CreditNoteRetrieveParams{})}},
		{method: "POST", pattern: "/v1/credit_notes/{id}", fn: updateCreditNote,
			params: endpointParams{withExpand(map[string]spec{"memo": str(), "metadata": metadataSpec()}),
				knownFrom(stripe.CreditNoteUpdateParams{})}},
		{method: "GET", pattern: "/v1/credit_notes/{id}/lines", fn: listCreditNoteLines,
			params: endpointParams{listSpec(map[string]spec{}), knownFrom(stripe.CreditNoteListLinesParams{})}},
		{method: "POST", pattern: "/v1/credit_notes/{id}/void", fn: voidCreditNote,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.CreditNoteVoidCreditNoteParams{})}},
	}
}

// totals computes a credit note's amounts the way an invoice's are computed.
func (cn *creditNote) totals() invoiceTotals {
	inv := &invoice{}
	for _, l := range cn.lines {
		inv.lines = append(inv.lines, &invoiceLine{item: &invoiceItem{amount: l.amount}, taxes: l.taxes})
	}
	return inv.totals()
}

// creditedOn sums what the invoice's issued credit notes credit: in total, and per invoice
// line (amount and quantity).
func (a *account) creditedOn(invoiceID string) (total int64, lineAmount, lineQuantity map[string]int64, count int) {
	lineAmount, lineQuantity = map[string]int64{}, map[string]int64{}
	for _, cn := range a.creditNotes.oldestFirst() {
		if cn.invoice != invoiceID {
			continue
		}
		count++
		if cn.status != "issued" {
			continue
		}
		total += cn.totals().total
		for _, l := range cn.lines {
			if l.invoiceLine != "" {
				lineAmount[l.invoiceLine] += l.amount
				lineQuantity[l.invoiceLine] += l.quantity
			}
		}
	}
	return total, lineAmount, lineQuantity, count
}

// planCreditNote validates a create (or preview) request and computes the credit note it
// would issue, without changing anything.
func (c *call) planCreditNote() (*creditNote, *invoice, *apiError) {
	p := c.params
	if !p.has("invoice") {
		return nil, nil, missingParam("invoice")
	}
	invID := p.strOf("invoice")
	if invID == "" {
		return nil, nil, emptyParam("invoice")
	}
	inv, ok := c.acct.invoices.get(invID)
	if !ok || inv.deleted {
		return nil, nil, noSuchInBody("invoice", invID, "invoice")
	}
	if inv.status != statusOpen && inv.status != statusPaid {
		return nil, nil, invalidRequest("", "invoice",
			"Credit notes can only be issued for open or paid invoices; invoice %s is %s.", inv.id, inv.status)
	}
	credited, lineAmount, lineQuantity, count := c.acct.creditedOn(inv.id)
	cn := &creditNote{
		invoice: inv.id, customer: inv.customer, currency: inv.currency, status: "issued",
		reason: p.strOf("reason"), memo: p.strOf("memo"), created: c.now, effectiveAt: c.now,
		number: fmt.Sprintf("%s-CN-%02d", inv.number, count+1),
	}
	if at, ok := p.int64Of("effective_at"); ok {
		cn.effectiveAt = at
	}
	md, e := applyMetadata(nil, p.get("metadata"), "metadata")
	if e != nil {
		return nil, nil, e
	}
	cn.metadata = md

	invoiceRates := map[string]*taxRate{}
	for _, l := range inv.lines {
		for _, t := range l.taxes {
			invoiceRates[t.rate.id] = t.rate
		}
	}
	lines := p.get("lines").items()
	if len(lines) > maxCreditNoteLines {
		return nil, nil, invalidParam("", "lines", "A credit note can have at most %d lines; got %d.", maxCreditNoteLines, len(lines))
	}
	for i, lp := range lines {
		l, e := c.planCreditNoteLine(inv, lp, paramPath("lines", itoa(i)), invoiceRates, lineAmount, lineQuantity)
		if e != nil {
			return nil, nil, e
		}
		cn.lines = append(cn.lines, l)
	}
	amount, hasAmount := p.int64Of("amount")
	switch {
	case len(lines) == 0 && !hasAmount:
		return nil, nil, invalidParam("", "lines", "You must pass one of these parameters: amount, lines.")
	case len(lines) == 0:
		// An amount alone credits it as one custom line without tax.
		if amount <= 0 {
			return nil, nil, invalidParam("", "amount", "The credit note amount must be positive, got %d.", amount)
		}
		cn.lines = []*creditNoteLine{{typ: "custom_line_item", amount: amount, quantity: 1, unitAmount: decimal.NewFromInt(amount)}}
	}
	t := cn.totals()
	if hasAmount && amount != t.total {
		return nil, nil, invalidParam("", "amount", "The credit note amount (%d) must equal the total of its lines (%d).", amount, t.total)
	}
	if t.total <= 0 {
		return nil, nil, invalidRequest("", "lines", "The credit note total must be positive, got %d.", t.total)
	}
	invoiceTotal := inv.totals().total
	if credited+t.total > invoiceTotal {
		return nil, nil, invalidRequest("", "lines",
			"The credit note total (%d) exceeds what can still be credited on invoice %s: its total is %d and %d is already credited, so at most %d can be.",
			t.total, inv.id, invoiceTotal, credited, max(0, invoiceTotal-credited))
	}

	// What is left to pay is credited first; the rest is post-payment.
	remaining := max(0, inv.amountDue-inv.amountPaid)
	if inv.status == statusPaid {
		remaining = 0
	}
	cn.prePayment = min(t.total, remaining)
	cn.postPayment = t.total - cn.prePayment
	var sum int64
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"credit_amount", &cn.creditAmount}, {"refund_amount", &cn.refundAmount}, {"out_of_band_amount", &cn.outOfBand}} {
		if n, ok := p.int64Of(f.name); ok {
			if n < 0 {
				return nil, nil, invalidParam("", f.name, "Invalid %s: must be a non-negative integer, got %d.", f.name, n)
			}
			*f.dst = n
			sum += n
		}
	}
	if sum != cn.postPayment {
		if cn.postPayment == 0 {
			return nil, nil, invalidRequest("", "",
				"This credit note only reduces the amount due on invoice %s (pre_payment_amount %d): credit_amount, refund_amount and out_of_band_amount must be 0.",
				inv.id, cn.prePayment)
		}
		return nil, nil, invalidRequest("", "",
			"The sum of credit_amount, refund_amount and out_of_band_amount (%d) must equal the credit note's post-payment amount (%d).",
			sum, cn.postPayment)
	}
	if cn.refundAmount > 0 {
		ch := c.acct.succeededCharge(inv)
		if ch == nil {
			return nil, nil, invalidRequest("", "refund_amount", "Invoice %s was not paid by a charge, so there is nothing to refund.", inv.id)
		}
		if cn.refundAmount > ch.amount-ch.amountRefunded {
			return nil, nil, invalidRequest("", "refund_amount",
				"Refund amount (%d) is greater than the unrefunded amount on the charge (%d).", cn.refundAmount, ch.amount-ch.amountRefunded)
		}
	}
	if cn.creditAmount > 0 {
		if cust, _ := c.acct.customers.get(inv.customer); cust.currency != "" && cust.currency != inv.currency {
			return nil, nil, invalidRequest("", "credit_amount",
				"The customer's balance is in %s, but the invoice is in %s.", cust.currency, inv.currency)
		}
	}
	return cn, inv, nil
}

func (c *call) planCreditNoteLine(inv *invoice, lp *param, path string, rates map[string]*taxRate,
	lineAmount, lineQuantity map[string]int64) (*creditNoteLine, *apiError) {
	at := func(name string) string { return paramPath(path, name) }
	typ := lp.strOf("type")
	if typ == "" {
		return nil, missingParam(at("type"))
	}
	l := &creditNoteLine{typ: typ}
	amount, hasAmount := lp.int64Of("amount")
	quantity, hasQuantity := lp.int64Of("quantity")
	if hasQuantity && quantity <= 0 {
		return nil, invalidParam("", at("quantity"), "Invalid quantity: must be a positive integer, got %d.", quantity)
	}
	if hasAmount && amount <= 0 {
		return nil, invalidParam("", at("amount"), "Invalid amount: must be a positive integer, got %d.", amount)
	}
	switch typ {
	case "invoice_line_item":
		for _, name := range []string{"description", "unit_amount", "unit_amount_decimal"} {
			if lp.has(name) {
				return nil, invalidParam("", at(name), "%s is only valid for lines of type custom_line_item.", at(name))
			}
		}
		id := lp.strOf("invoice_line_item")
		if id == "" {
			return nil, missingParam(at("invoice_line_item"))
		}
		_, il := inv.lineByID(id)
		if il == nil {
			return nil, noSuchInBody("invoice line item", id, at("invoice_line_item"))
		}
		l.invoiceLine, l.unitAmount = il.id, il.item.unitAmount
		switch {
		case hasAmount && hasQuantity:
			return nil, exclusiveParams(at("amount"), "amount", "quantity")
		case hasAmount:
			l.amount = amount
		case hasQuantity:
			if lineQuantity[il.id]+quantity > il.item.quantity {
				return nil, invalidRequest("", at("quantity"),
					"The quantity credited (%d, with %d already credited) exceeds the invoice line's quantity (%d).",
					quantity, lineQuantity[il.id], il.item.quantity)
			}
			l.quantity = quantity
			l.amount = decimal.NewFromInt(il.item.amount).Mul(decimal.NewFromInt(quantity)).
				Div(decimal.NewFromInt(il.item.quantity)).Round(0).IntPart()
		default:
			return nil, invalidParam("", at("amount"), "You must pass one of these parameters: %s, %s.", at("amount"), at("quantity"))
		}
		if lineAmount[il.id]+l.amount > il.item.amount {
			return nil, invalidRequest("", at("amount"),
				"The amount credited (%d, with %d already credited) exceeds the invoice line's amount (%d).",
				l.amount, lineAmount[il.id], il.item.amount)
		}
		if !lp.has("tax_amounts") && il.item.amount != 0 {
			// The invoice line's taxes, in proportion to what is credited.
			for _, t := range il.taxes {
				share := func(n int64) int64 {
					return decimal.NewFromInt(n).Mul(decimal.NewFromInt(l.amount)).Div(decimal.NewFromInt(il.item.amount)).Round(0).IntPart()
				}
				l.taxes = append(l.taxes, lineTax{amount: share(t.amount), taxableAmount: share(t.taxableAmount),
					taxabilityReason: t.taxabilityReason, rate: t.rate})
			}
		}
	case "custom_line_item":
		if lp.has("invoice_line_item") {
			return nil, invalidParam("", at("invoice_line_item"), "%s is only valid for lines of type invoice_line_item.", at("invoice_line_item"))
		}
		if hasAmount {
			return nil, invalidParam("", at("amount"),
				"%s is only valid for lines of type invoice_line_item; a custom_line_item line is priced by unit_amount and quantity.", at("amount"))
		}
		l.description = lp.strOf("description")
		if l.description == "" {
			return nil, missingParam(at("description"))
		}
		unit, hasUnit := lp.int64Of("unit_amount")
		unitDec, hasDec := lp.decimalOf("unit_amount_decimal")
		switch {
		case hasUnit && hasDec:
			return nil, exclusiveParams(at("unit_amount"), "unit_amount", "unit_amount_decimal")
		case hasUnit:
			l.unitAmount = decimal.NewFromInt(unit)
		case hasDec:
			if decimalPlaces(unitDec) > maxUnitAmountPlaces {
				return nil, invalidParam("", at("unit_amount_decimal"), "Invalid decimal: at most %d decimal places are allowed.", maxUnitAmountPlaces)
			}
			l.unitAmount = unitDec
		default:
			return nil, missingParam(at("unit_amount"))
		}
		if l.unitAmount.IsNegative() {
			return nil, invalidParam("", at("unit_amount"), "Invalid unit_amount: must not be negative.")
		}
		l.quantity = 1
		if hasQuantity {
			l.quantity = quantity
		}
		l.amount = l.unitAmount.Mul(decimal.NewFromInt(l.quantity)).Round(0).IntPart()
		if e := checkLineAmount(l.amount, at("unit_amount")); e != nil {
			return nil, e
		}
	}
	if lp.has("tax_amounts") {
		items := lp.get("tax_amounts").items()
		if len(items) > maxTaxAmountsPerLine {
			return nil, invalidParam("", at("tax_amounts"), "A line can have at most %d tax amounts; got %d.", maxTaxAmountsPerLine, len(items))
		}
		l.taxes = nil
		for i, tp := range items {
			base := paramPath(at("tax_amounts"), itoa(i))
			var t lineTax
			for _, f := range []struct {
				name string
				dst  *int64
			}{{"amount", &t.amount}, {"taxable_amount", &t.taxableAmount}} {
				n, ok := tp.int64Of(f.name)
				if !ok {
					return nil, missingParam(paramPath(base, f.name))
				}
				if e := checkLineAmount(n, paramPath(base, f.name)); e != nil {
					return nil, e
				}
				*f.dst = n
			}
			rateID := tp.strOf("tax_rate")
			if rateID == "" {
				return nil, missingParam(paramPath(base, "tax_rate"))
			}
			rate, ok := rates[rateID]
			if !ok {
				if _, exists := c.acct.taxRates.get(rateID); !exists {
					return nil, noSuchInBody("tax_rate", rateID, paramPath(base, "tax_rate"))
				}
				return nil, invalidRequest("", paramPath(base, "tax_rate"),
					"The tax rate %s is not one of the tax rates of invoice %s.", rateID, inv.id)
			}
			t.rate = rate
			l.taxes = append(l.taxes, t)
		}
	}
	return l, nil
}

func createCreditNote(c *call) (any, *apiError) {
	cn, inv, e := c.planCreditNote()
	if e != nil {
		return nil, e
	}
	cn.id = c.s.ids.next1("cn")
	for _, l := range cn.lines {
		l.id = c.s.ids.next1("cnli")
	}
	before := c.renderInvoice(inv)
	inv.amountDue -= cn.prePayment
	inv.prePaymentCreditNotes += cn.prePayment
	inv.postPaymentCreditNotes += cn.postPayment
	if cn.creditAmount > 0 {
		cust, _ := c.acct.customers.get(inv.customer)
		cust.currency = inv.currency
		cust.balance -= cn.creditAmount
		cn.customerBalanceTxn = c.s.ids.next1("cbtxn")
	}
	var refunded *charge
	if cn.refundAmount > 0 {
		refunded = c.acct.succeededCharge(inv)
		r := &refund{id: c.s.ids.next1("re"), charge: refunded.id, paymentIntent: refunded.paymentIntent,
			currency: refunded.currency, amount: cn.refundAmount, created: c.now}
		c.acct.refunds.add(r.id, r)
		refunded.amountRefunded += r.amount
		cn.refund = r.id
	}
	c.acct.creditNotes.add(cn.id, cn)
	c.emit("credit_note.created", renderCreditNote(cn), nil)
	if refunded != nil {
		r, _ := c.acct.refunds.get(cn.refund)
		c.emit("refund.created", renderRefund(r), nil)
		c.emit("charge.refunded", renderCharge(refunded), nil)
	}
	paidByCredit := inv.status == statusOpen && cn.prePayment > 0 && inv.amountDue-inv.amountPaid <= 0
	if paidByCredit {
		c.cancelOpenPayment(inv)
		inv.status, inv.paidAt = statusPaid, c.now
	}
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	if paidByCredit {
		c.emit("invoice.paid", c.renderInvoice(inv), nil)
	}
	return renderCreditNote(cn), nil
}

func previewCreditNote(c *call) (any, *apiError) {
	cn, _, e := c.planCreditNote()
	if e != nil {
		return nil, e
	}
	// A preview is never stored: its ids name nothing.
	cn.id = "cn_preview"
	for i, l := range cn.lines {
		l.id = fmt.Sprintf("cnli_preview_%d", i+1)
	}
	return renderCreditNote(cn), nil
}

func (c *call) loadCreditNote() (*creditNote, *apiError) {
	id := c.r.PathValue("id")
	cn, ok := c.acct.creditNotes.get(id)
	if !ok {
		return nil, noSuchInPath("credit note", id, "id")
	}
	return cn, nil
}

func retrieveCreditNote(c *call) (any, *apiError) {
	cn, e := c.loadCreditNote()
	if e != nil {
		return nil, e
	}
	return renderCreditNote(cn), nil
}

func updateCreditNote(c *call) (any, *apiError) {
	cn, e := c.loadCreditNote()
	if e != nil {
		return nil, e
	}
	md, e := applyMetadata(cn.metadata, c.params.get("metadata"), "metadata")
	if e != nil {
		return nil, e
	}
	before := renderCreditNote(cn)
	cn.metadata = md
	if c.params.has("memo") {
		cn.memo = c.params.strOf("memo")
	}
	c.emit("credit_note.updated", renderCreditNote(cn), before)
	return renderCreditNote(cn), nil
}

func listCreditNotes(c *call) (any, *apiError) {
	invoiceID, customerID := c.params.strOf("invoice"), c.params.strOf("customer")
	created := createdFilter(c.params.get("created"))
	var items []*creditNote
	for _, cn := range c.acct.creditNotes.newestFirst() {
		if (invoiceID != "" && cn.invoice != invoiceID) || (customerID != "" && cn.customer != customerID) || !created(cn.created) {
			continue
		}
		items = append(items, cn)
	}
	return paginate(c, items, func(x *creditNote) string { return x.id }, "credit note", "/v1/credit_notes",
		func(x *creditNote) any { return renderCreditNote(x) })
}

func listCreditNoteLines(c *call) (any, *apiError) {
	cn, e := c.loadCreditNote()
	if e != nil {
		return nil, e
	}
	return paginate(c, cn.lines, func(l *creditNoteLine) string { return l.id }, "credit note line item",
		"/v1/credit_notes/"+cn.id+"/lines", func(l *creditNoteLine) any { return renderCreditNoteLine(l) })
}

func voidCreditNote(c *call) (any, *apiError) {
	cn, e := c.loadCreditNote()
	if e != nil {
		return nil, e
	}
	if cn.status == "void" {
		return nil, invalidRequest("", "", "The credit note %s is already void.", cn.id)
	}
	if cn.refund != "" {
		return nil, invalidRequest("", "", "The credit note %s refunded %d; a refund cannot be reversed, so the credit note cannot be voided.", cn.id, cn.refundAmount)
	}
	inv, _ := c.acct.invoices.get(cn.invoice)
	if cn.prePayment > 0 && inv.status != statusOpen {
		return nil, invalidRequest("", "",
			"The credit note %s reduced the amount due of invoice %s, which is no longer open (%s): it cannot be voided.", cn.id, inv.id, inv.status)
	}
	before := c.renderInvoice(inv)
	inv.amountDue += cn.prePayment
	inv.prePaymentCreditNotes -= cn.prePayment
	inv.postPaymentCreditNotes -= cn.postPayment
	if cn.creditAmount > 0 {
		cust, _ := c.acct.customers.get(inv.customer)
		cust.balance += cn.creditAmount
	}
	cn.status, cn.voidedAt = "void", c.now
	c.emit("credit_note.voided", renderCreditNote(cn), nil)
	c.emit("invoice.updated", c.renderInvoice(inv), before)
	return renderCreditNote(cn), nil
}

type creditNoteJSON struct {
	ID                         string                 `json:"id"`
	Object                     string                 `json:"object"`
	Amount                     int64                  `json:"amount"`
	AmountShipping             int64                  `json:"amount_shipping"`
	Created                    int64                  `json:"created"`
	Currency                   string                 `json:"currency"`
	Customer                   string                 `json:"customer"`
	CustomerBalanceTransaction *string                `json:"customer_balance_transaction"`
	DiscountAmount             int64                  `json:"discount_amount"`
	DiscountAmounts            []any                  `json:"discount_amounts"`
	EffectiveAt                *int64                 `json:"effective_at"`
	Invoice                    string                 `json:"invoice"`
	Lines                      listJSON               `json:"lines"`
	Livemode                   bool                   `json:"livemode"`
	Memo                       *string                `json:"memo"`
	Metadata                   map[string]string      `json:"metadata"`
	Number                     string                 `json:"number"`
	OutOfBandAmount            *int64                 `json:"out_of_band_amount"`
	PDF                        string                 `json:"pdf"`
	PostPaymentAmount          int64                  `json:"post_payment_amount"`
	PrePaymentAmount           int64                  `json:"pre_payment_amount"`
	PretaxCreditAmounts        []any                  `json:"pretax_credit_amounts"`
	Reason                     *string                `json:"reason"`
	Refunds                    []creditNoteRefundJSON `json:"refunds"`
	ShippingCost               *string                `json:"shipping_cost"`
	Status                     string                 `json:"status"`
	Subtotal                   int64                  `json:"subtotal"`
	SubtotalExcludingTax       int64                  `json:"subtotal_excluding_tax"`
	Total                      int64                  `json:"total"`
	TotalExcludingTax          int64                  `json:"total_excluding_tax"`
	TotalTaxes                 []taxJSON              `json:"total_taxes"`
	Type                       string                 `json:"type"`
	VoidedAt                   *int64                 `json:"voided_at"`
}

type creditNoteRefundJSON struct {
	AmountRefunded int64  `json:"amount_refunded"`
	Refund         string `json:"refund"`
	Type           string `json:"type"`
}

type creditNoteLineJSON struct {
	ID                  string    `json:"id"`
	Object              string    `json:"object"`
	Amount              int64     `json:"amount"`
	Description         *string   `json:"description"`
	DiscountAmount      int64     `json:"discount_amount"`
	DiscountAmounts     []any     `json:"discount_amounts"`
	InvoiceLineItem     *string   `json:"invoice_line_item"`
	Livemode            bool      `json:"livemode"`
	PretaxCreditAmounts []any     `json:"pretax_credit_amounts"`
	Quantity            *int64    `json:"quantity"`
	TaxRates            []any     `json:"tax_rates"`
	Taxes               []taxJSON `json:"taxes"`
	Type                string    `json:"type"`
	UnitAmount          *int64    `json:"unit_amount"`
	UnitAmountDecimal   string    `json:"unit_amount_decimal"`
}

func renderCreditNoteLine(l *creditNoteLine) creditNoteLineJSON {
	taxes := make([]taxJSON, 0, len(l.taxes))
	for _, t := range l.taxes {
		taxes = append(taxes, renderTax(t.amount, t.taxableAmount, t.behavior(), t.taxabilityReason, t.rate.id))
	}
	out := creditNoteLineJSON{
		ID: l.id, Object: "credit_note_line_item", Amount: l.amount, Description: nullable(l.description),
		DiscountAmounts: []any{}, InvoiceLineItem: nullable(l.invoiceLine), PretaxCreditAmounts: []any{},
		TaxRates: []any{}, Taxes: taxes, Type: l.typ, UnitAmountDecimal: l.unitAmount.String(),
	}
	if l.quantity != 0 {
		q := l.quantity
		out.Quantity = &q
	}
	if l.unitAmount.IsInteger() {
		u := l.unitAmount.IntPart()
		out.UnitAmount = &u
	}
	return out
}

func renderCreditNote(cn *creditNote) creditNoteJSON {
	t := cn.totals()
	lines := listJSON{Object: "list", Data: make([]any, 0, len(cn.lines)), URL: "/v1/credit_notes/" + cn.id + "/lines"}
	for i, l := range cn.lines {
		if i == embeddedLines {
			lines.HasMore = true
			break
		}
		lines.Data = append(lines.Data, renderCreditNoteLine(l))
	}
	taxes := make([]taxJSON, 0, len(t.taxes))
	for _, tx := range t.taxes {
		taxes = append(taxes, renderTax(tx.amount, tx.taxableAmount, tx.behavior, tx.reason, tx.rate))
	}
	typ := "mixed"
	switch {
	case cn.postPayment == 0:
		typ = "pre_payment"
	case cn.prePayment == 0:
		typ = "post_payment"
	}
	refunds := []creditNoteRefundJSON{}
	if cn.refund != "" {
		refunds = append(refunds, creditNoteRefundJSON{AmountRefunded: cn.refundAmount, Refund: cn.refund, Type: "refund"})
	}
	out := creditNoteJSON{
		ID: cn.id, Object: "credit_note", Amount: t.total, Created: cn.created, Currency: cn.currency,
		Customer: cn.customer, CustomerBalanceTransaction: nullable(cn.customerBalanceTxn), DiscountAmounts: []any{},
		EffectiveAt: nullableInt(cn.effectiveAt), Invoice: cn.invoice, Lines: lines, Memo: nullable(cn.memo),
		Metadata: cn.metadata, Number: cn.number, PDF: "https://pay.stripe.com/credit_notes/" + cn.id + "/pdf",
		PostPaymentAmount: cn.postPayment, PrePaymentAmount: cn.prePayment, PretaxCreditAmounts: []any{},
		Reason: nullable(cn.reason), Refunds: refunds, Status: cn.status, Subtotal: t.subtotal,
		SubtotalExcludingTax: t.subtotalExclTax, Total: t.total, TotalExcludingTax: t.totalExclTax,
		TotalTaxes: taxes, Type: typ, VoidedAt: nullableInt(cn.voidedAt),
	}
	if cn.outOfBand > 0 {
		oob := cn.outOfBand
		out.OutOfBandAmount = &oob
	}
	return out
}
