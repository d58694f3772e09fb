package stripesim

// embeddedLines is how many lines an invoice object carries inline. Like every list Stripe
// embeds in an object, an invoice's lines show the first page (10) with has_more; the rest
// are read from GET /v1/invoices/{id}/lines.
const embeddedLines = 10

// linesMode says how many lines to render into an invoice object.
type linesMode int

const (
	linesEmbedded linesMode = iota // the first page, as Stripe answers
	linesAll                       // every line, for the simulator's own inspection
)

// invoiceJSON is Stripe's invoice object (basil shape). Fields the simulator does not model
// are present with Stripe's value for an invoice that does not use them (null, [] or 0), so
// that clients decoding strictly still see a complete object.
type invoiceJSON struct {
	ID                           string                `json:"id"`
	Object                       string                `json:"object"`
	AccountCountry               string                `json:"account_country"`
	AccountName                  *string               `json:"account_name"`
	AccountTaxIDs                []any                 `json:"account_tax_ids"`
	AmountDue                    int64                 `json:"amount_due"`
	AmountOverpaid               int64                 `json:"amount_overpaid"`
	AmountPaid                   int64                 `json:"amount_paid"`
	AmountRemaining              int64                 `json:"amount_remaining"`
	AmountShipping               int64                 `json:"amount_shipping"`
	Application                  *string               `json:"application"`
	AttemptCount                 int64                 `json:"attempt_count"`
	Attempted                    bool                  `json:"attempted"`
	AutoAdvance                  bool                  `json:"auto_advance"`
	AutomaticTax                 automaticTaxJSON      `json:"automatic_tax"`
	AutomaticallyFinalizesAt     *int64                `json:"automatically_finalizes_at"`
	BillingReason                string                `json:"billing_reason"`
	CollectionMethod             string                `json:"collection_method"`
	ConfirmationSecret           *string               `json:"confirmation_secret"`
	Created                      int64                 `json:"created"`
	Currency                     string                `json:"currency"`
	CustomFields                 []CustomField         `json:"custom_fields"`
	Customer                     any                   `json:"customer"`
	CustomerAddress              *addressJSON          `json:"customer_address"`
	CustomerEmail                *string               `json:"customer_email"`
	CustomerName                 *string               `json:"customer_name"`
	CustomerPhone                *string               `json:"customer_phone"`
	CustomerShipping             *shippingJSON         `json:"customer_shipping"`
	CustomerTaxExempt            *string               `json:"customer_tax_exempt"`
	CustomerTaxIDs               []any                 `json:"customer_tax_ids"`
	DefaultPaymentMethod         *string               `json:"default_payment_method"`
	DefaultSource                *string               `json:"default_source"`
	DefaultTaxRates              []any                 `json:"default_tax_rates"`
	Description                  *string               `json:"description"`
	Discounts                    []any                 `json:"discounts"`
	DueDate                      *int64                `json:"due_date"`
	EffectiveAt                  *int64                `json:"effective_at"`
	EndingBalance                *int64                `json:"ending_balance"`
	Footer                       *string               `json:"footer"`
	FromInvoice                  *string               `json:"from_invoice"`
	HostedInvoiceURL             *string               `json:"hosted_invoice_url"`
	InvoicePDF                   *string               `json:"invoice_pdf"`
	Issuer                       issuerJSON            `json:"issuer"`
	LastFinalizationError        *apiError             `json:"last_finalization_error"`
	LatestRevision               *string               `json:"latest_revision"`
	Lines                        listJSON              `json:"lines"`
	Livemode                     bool                  `json:"livemode"`
	Metadata                     map[string]string     `json:"metadata"`
	NextPaymentAttempt           *int64                `json:"next_payment_attempt"`
	Number                       *string               `json:"number"`
	OnBehalfOf                   *string               `json:"on_behalf_of"`
	Parent                       *string               `json:"parent"`
	PaymentSettings              paymentSettingsJSON   `json:"payment_settings"`
	PeriodEnd                    int64                 `json:"period_end"`
	PeriodStart                  int64                 `json:"period_start"`
	PostPaymentCreditNotesAmount int64                 `json:"post_payment_credit_notes_amount"`
	PrePaymentCreditNotesAmount  int64                 `json:"pre_payment_credit_notes_amount"`
	ReceiptNumber                *string               `json:"receipt_number"`
	Rendering                    *string               `json:"rendering"`
	ShippingCost                 *string               `json:"shipping_cost"`
	ShippingDetails              *string               `json:"shipping_details"`
	StartingBalance              int64                 `json:"starting_balance"`
	StatementDescriptor          *string               `json:"statement_descriptor"`
	Status                       string                `json:"status"`
	StatusTransitions            statusTransitionsJSON `json:"status_transitions"`
	Subtotal                     int64                 `json:"subtotal"`
	SubtotalExcludingTax         int64                 `json:"subtotal_excluding_tax"`
	TestClock                    *string               `json:"test_clock"`
	Total                        int64                 `json:"total"`
	TotalDiscountAmounts         []any                 `json:"total_discount_amounts"`
	TotalExcludingTax            int64                 `json:"total_excluding_tax"`
	TotalPretaxCreditAmounts     []any                 `json:"total_pretax_credit_amounts"`
	TotalTaxes                   []taxJSON             `json:"total_taxes"`
	WebhooksDeliveredAt          int64                 `json:"webhooks_delivered_at"`
}

type automaticTaxJSON struct {
	DisabledReason *string        `json:"disabled_reason"`
	Enabled        bool           `json:"enabled"`
	Liability      *liabilityJSON `json:"liability"`
	Provider       *string        `json:"provider"`
	Status         *string        `json:"status"`
}

type liabilityJSON struct {
	Type string `json:"type"`
}

type issuerJSON struct {
	Type string `json:"type"`
}

type paymentSettingsJSON struct {
	DefaultMandate       *string `json:"default_mandate"`
	PaymentMethodOptions *string `json:"payment_method_options"`
	PaymentMethodTypes   *string `json:"payment_method_types"`
}

type statusTransitionsJSON struct {
	FinalizedAt           *int64 `json:"finalized_at"`
	MarkedUncollectibleAt *int64 `json:"marked_uncollectible_at"`
	PaidAt                *int64 `json:"paid_at"`
	VoidedAt              *int64 `json:"voided_at"`
}

// renderInvoice renders an invoice for an event or a log: never expanded.
func (c *call) renderInvoice(inv *invoice) invoiceJSON {
	return c.acct.renderInvoice(inv, false, linesEmbedded, c.s.opts.AccountCountry)
}

// respond renders an invoice as the answer to the request, honouring expand[]=customer.
func (c *call) respond(inv *invoice) invoiceJSON {
	return c.renderInvoiceExpanding(inv, c.expands("customer"), linesEmbedded)
}

func (c *call) renderInvoiceExpanding(inv *invoice, expandCustomer bool, mode linesMode) invoiceJSON {
	return c.acct.renderInvoice(inv, expandCustomer, mode, c.s.opts.AccountCountry)
}

func (a *account) renderInvoice(inv *invoice, expandCustomer bool, mode linesMode, country string) invoiceJSON {
	t := inv.totals()
	amt := a.amounts(inv, t)

	// Until finalization the customer fields follow the customer; afterwards they are frozen.
	cust := inv.customerAtFinalize
	if cust == nil {
		cust, _ = a.customers.get(inv.customer)
	}
	var customerField any = inv.customer
	if expandCustomer {
		if live, ok := a.customers.get(inv.customer); ok {
			if live.deleted {
				customerField = deletedJSON{ID: live.id, Object: "customer", Deleted: true}
			} else {
				customerField = renderCustomer(live)
			}
		}
	}

	lines := inv.lines
	if mode == linesEmbedded && len(lines) > embeddedLines {
		lines = lines[:embeddedLines]
	}
	total := int64(len(inv.lines))
	lineList := listJSON{
		Object: "list", Data: make([]any, 0, len(lines)), HasMore: len(lines) < len(inv.lines),
		TotalCount: &total, URL: "/v1/invoices/" + inv.id + "/lines",
	}
	for _, l := range lines {
		lineList.Data = append(lineList.Data, renderLine(l))
	}

	taxes := make([]taxJSON, 0, len(t.taxes))
	for _, tx := range t.taxes {
		taxes = append(taxes, renderTax(tx.amount, tx.taxableAmount, tx.behavior, tx.reason, tx.rate))
	}

	out := invoiceJSON{
		ID: inv.id, Object: "invoice", AccountCountry: country,
		AmountDue: amt.amountDue, AmountPaid: amt.amountPaid, AmountRemaining: amt.amountRemaining,
		AttemptCount: inv.attemptCount, Attempted: inv.attempted, AutoAdvance: inv.autoAdvance,
		AutomaticTax: renderAutomaticTax(inv.automaticTax), BillingReason: "manual",
		CollectionMethod: inv.collectionMethod, Created: inv.created, Currency: inv.currency,
		CustomFields: inv.customFields, Customer: customerField,
		CustomerTaxIDs: []any{}, DefaultTaxRates: []any{}, Description: nullable(inv.description),
		Discounts: []any{}, DueDate: nullableInt(inv.dueDate), EffectiveAt: nullableInt(inv.effectiveAt),
		EndingBalance: amt.endingBalance, Footer: nullable(inv.footer), Issuer: issuerJSON{Type: "self"},
		LastFinalizationError: inv.lastFinalizationError, Lines: lineList, Metadata: inv.metadata,
		Number: nullable(inv.number), PeriodEnd: inv.created, PeriodStart: inv.created,
		StartingBalance: amt.startingBalance, Status: inv.status,
		StatusTransitions: statusTransitionsJSON{
			FinalizedAt: nullableInt(inv.finalizedAt), MarkedUncollectibleAt: nullableInt(inv.markedUncollectibleAt),
			PaidAt: nullableInt(inv.paidAt), VoidedAt: nullableInt(inv.voidedAt),
		},
		Subtotal: t.subtotal, SubtotalExcludingTax: t.subtotalExclTax, Total: t.total,
		TotalDiscountAmounts: []any{}, TotalExcludingTax: t.totalExclTax, TotalPretaxCreditAmounts: []any{},
		TotalTaxes: taxes, WebhooksDeliveredAt: inv.created,
		PrePaymentCreditNotesAmount: inv.prePaymentCreditNotes, PostPaymentCreditNotesAmount: inv.postPaymentCreditNotes,
	}
	if cust != nil {
		out.CustomerAddress = renderAddress(cust.address)
		out.CustomerEmail, out.CustomerName, out.CustomerPhone = nullable(cust.email), nullable(cust.name), nullable(cust.phone)
		out.CustomerShipping = renderShipping(cust.shipping)
		out.CustomerTaxExempt = nullable(cust.taxExempt)
	}
	if inv.finalizedAt != 0 {
		// The hosted page and PDF exist from finalization on.
		out.HostedInvoiceURL = nullable("https://invoice.stripe.com/i/" + a.id + "/test_" + inv.id)
		out.InvoicePDF = nullable("https://pay.stripe.com/invoice/" + a.id + "/test_" + inv.id + "/pdf")
	}
	if inv.status == statusDraft && inv.autoAdvance {
		// Stripe finalizes an auto-advancing draft about an hour after creation and, for
		// charge_automatically, attempts payment then. The simulator shows the schedule but
		// does not run it: taxflow finalizes its drafts itself.
		out.AutomaticallyFinalizesAt = nullableInt(inv.created + 3600)
		if inv.collectionMethod == collectChargeAutomatically {
			out.NextPaymentAttempt = nullableInt(inv.created + 3600)
		}
	}
	return out
}

func renderAutomaticTax(at automaticTax) automaticTaxJSON {
	if !at.enabled {
		return automaticTaxJSON{}
	}
	return automaticTaxJSON{
		Enabled: true, Liability: &liabilityJSON{Type: at.liabilityType},
		Provider: nullable(at.provider), Status: nullable(at.status),
	}
}
