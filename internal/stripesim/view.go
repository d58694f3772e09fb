package stripesim

import (
	"maps"

	"github.com/shopspring/decimal"
)

// Invoice is the simulator's own record of an invoice, for tests to check against (the Go
// accessors and GET /_sim/invoices). It is a snapshot: changing it changes nothing.
type Invoice struct {
	// Account is the owning account's API key, redacted to its last four characters.
	Account          string `json:"account"`
	ID               string `json:"id"`
	Customer         string `json:"customer"`
	Status           string `json:"status"`
	Deleted          bool   `json:"deleted,omitempty"`
	Currency         string `json:"currency"`
	CollectionMethod string `json:"collection_method"`
	AutoAdvance      bool   `json:"auto_advance"`
	AutomaticTax     bool   `json:"automatic_tax"`
	// AutomaticTaxProvider and AutomaticTaxStatus repeat automatic_tax.provider and .status;
	// the status is "" while a third-party tax app has not answered.
	AutomaticTaxProvider string            `json:"automatic_tax_provider,omitempty"`
	AutomaticTaxStatus   string            `json:"automatic_tax_status,omitempty"`
	Number               string            `json:"number,omitempty"`
	Description          string            `json:"description,omitempty"`
	Footer               string            `json:"footer,omitempty"`
	Metadata             map[string]string `json:"metadata"`
	CustomFields         []CustomField     `json:"custom_fields,omitempty"`
	Lines                []InvoiceLine     `json:"lines"`

	// Amounts, in the currency's smallest unit, as the API reports them.
	Subtotal          int64       `json:"subtotal"`
	TotalExcludingTax int64       `json:"total_excluding_tax"`
	Total             int64       `json:"total"`
	TotalTax          int64       `json:"total_tax"` // inclusive and exclusive tax amounts together
	TotalTaxes        []TaxAmount `json:"total_taxes"`
	StartingBalance   int64       `json:"starting_balance"`
	EndingBalance     int64       `json:"ending_balance"`
	AmountDue         int64       `json:"amount_due"`
	AmountPaid        int64       `json:"amount_paid"`
	AmountRemaining   int64       `json:"amount_remaining"`
	// Credit notes issued on the invoice (void ones aside), before and after payment.
	PrePaymentCreditNotesAmount  int64 `json:"pre_payment_credit_notes_amount"`
	PostPaymentCreditNotesAmount int64 `json:"post_payment_credit_notes_amount"`

	// Payment: attempts so far, and the payment intent and InvoicePayment of card payments.
	AttemptCount   int64  `json:"attempt_count"`
	PaymentIntent  string `json:"payment_intent,omitempty"`
	InvoicePayment string `json:"invoice_payment,omitempty"`

	// Unix times; 0 when not reached.
	Created               int64 `json:"created"`
	FinalizedAt           int64 `json:"finalized_at,omitempty"`
	PaidAt                int64 `json:"paid_at,omitempty"`
	VoidedAt              int64 `json:"voided_at,omitempty"`
	MarkedUncollectibleAt int64 `json:"marked_uncollectible_at,omitempty"`
	DueDate               int64 `json:"due_date,omitempty"`
	EffectiveAt           int64 `json:"effective_at,omitempty"`
}

// InvoiceLine is one line of an Invoice snapshot.
type InvoiceLine struct {
	ID                string            `json:"id"`
	InvoiceItem       string            `json:"invoice_item"`
	Amount            int64             `json:"amount"`
	Description       string            `json:"description,omitempty"`
	Quantity          int64             `json:"quantity"`
	UnitAmountDecimal decimal.Decimal   `json:"unit_amount_decimal"`
	Product           string            `json:"product"`
	Price             string            `json:"price"`
	PeriodStart       int64             `json:"period_start"`
	PeriodEnd         int64             `json:"period_end"`
	Metadata          map[string]string `json:"metadata"`
	Taxes             []TaxAmount       `json:"taxes"`
}

// TaxAmount is one tax of a line, or one entry of an invoice's total_taxes, with the tax
// rate it references.
type TaxAmount struct {
	Amount           int64   `json:"amount"`
	TaxableAmount    int64   `json:"taxable_amount"`
	TaxBehavior      string  `json:"tax_behavior"`
	TaxabilityReason string  `json:"taxability_reason,omitempty"`
	TaxRate          TaxRate `json:"tax_rate"`
}

// TaxRate is the tax rate a tax amount references (created from tax_rate_data).
type TaxRate struct {
	ID                string          `json:"id"`
	DisplayName       string          `json:"display_name"`
	Description       string          `json:"description,omitempty"`
	Percentage        decimal.Decimal `json:"percentage"`
	Inclusive         bool            `json:"inclusive"`
	Jurisdiction      string          `json:"jurisdiction,omitempty"`
	JurisdictionLevel string          `json:"jurisdiction_level,omitempty"`
	TaxType           string          `json:"tax_type,omitempty"`
	Country           string          `json:"country,omitempty"`
	State             string          `json:"state,omitempty"`
}

// Invoices returns every invoice of every account, deleted drafts included, accounts in the
// order they were first used and each account's invoices in creation order.
func (s *Server) Invoices() []Invoice {
	var out []Invoice
	for _, a := range s.allAccounts() {
		a.mu.Lock()
		for _, inv := range a.invoices.oldestFirst() {
			out = append(out, a.snapshot(inv))
		}
		a.mu.Unlock()
	}
	return out
}

// Invoice returns one invoice, whichever account owns it.
func (s *Server) Invoice(id string) (Invoice, bool) {
	for _, a := range s.allAccounts() {
		a.mu.Lock()
		inv, ok := a.invoices.get(id)
		var snap Invoice
		if ok {
			snap = a.snapshot(inv)
		}
		a.mu.Unlock()
		if ok {
			return snap, true
		}
	}
	return Invoice{}, false
}

func (a *account) snapshot(inv *invoice) Invoice {
	t := inv.totals()
	amt := a.amounts(inv, t)
	out := Invoice{
		Account: a.label, ID: inv.id, Customer: inv.customer, Status: inv.status, Deleted: inv.deleted,
		Currency: inv.currency, CollectionMethod: inv.collectionMethod, AutoAdvance: inv.autoAdvance,
		AutomaticTax: inv.automaticTax.enabled, Number: inv.number, Description: inv.description,
		Footer: inv.footer, Metadata: maps.Clone(inv.metadata),
		CustomFields: append([]CustomField(nil), inv.customFields...),
		Subtotal:     t.subtotal, TotalExcludingTax: t.totalExclTax, Total: t.total,
		TotalTax:        t.inclusiveTaxTotal + t.exclusiveTaxTotal,
		StartingBalance: amt.startingBalance, AmountDue: amt.amountDue, AmountPaid: amt.amountPaid,
		AmountRemaining:      amt.amountRemaining,
		AutomaticTaxProvider: inv.automaticTax.provider, AutomaticTaxStatus: inv.automaticTax.status,
		PrePaymentCreditNotesAmount: inv.prePaymentCreditNotes, PostPaymentCreditNotesAmount: inv.postPaymentCreditNotes,
		AttemptCount: inv.attemptCount, PaymentIntent: inv.paymentIntent, InvoicePayment: inv.invoicePayment,
		Created: inv.created, FinalizedAt: inv.finalizedAt, PaidAt: inv.paidAt, VoidedAt: inv.voidedAt,
		MarkedUncollectibleAt: inv.markedUncollectibleAt, DueDate: inv.dueDate, EffectiveAt: inv.effectiveAt,
	}
	if amt.endingBalance != nil {
		out.EndingBalance = *amt.endingBalance
	}
	rates := map[string]*taxRate{}
	out.Lines = make([]InvoiceLine, 0, len(inv.lines))
	for _, l := range inv.lines {
		it := l.item
		line := InvoiceLine{
			ID: l.id, InvoiceItem: it.id, Amount: it.amount, Description: it.description, Quantity: it.quantity,
			UnitAmountDecimal: it.unitAmount, Product: it.product, Price: it.price,
			PeriodStart: it.periodStart, PeriodEnd: it.periodEnd, Metadata: maps.Clone(it.metadata),
			Taxes: make([]TaxAmount, 0, len(l.taxes)),
		}
		for _, tx := range l.taxes {
			rates[tx.rate.id] = tx.rate
			line.Taxes = append(line.Taxes, TaxAmount{
				Amount: tx.amount, TaxableAmount: tx.taxableAmount, TaxBehavior: tx.behavior(),
				TaxabilityReason: tx.taxabilityReason, TaxRate: tx.rate.view(),
			})
		}
		out.Lines = append(out.Lines, line)
	}
	out.TotalTaxes = make([]TaxAmount, 0, len(t.taxes))
	for _, tx := range t.taxes {
		out.TotalTaxes = append(out.TotalTaxes, TaxAmount{
			Amount: tx.amount, TaxableAmount: tx.taxableAmount, TaxBehavior: tx.behavior,
			TaxabilityReason: tx.reason, TaxRate: rates[tx.rate].view(),
		})
	}
	return out
}

func (tr *taxRate) view() TaxRate {
	d := tr.data
	return TaxRate{
		ID: tr.id, DisplayName: d.displayName, Description: d.description, Percentage: d.percentage,
		Inclusive: d.inclusive, Jurisdiction: d.jurisdiction, JurisdictionLevel: d.jurisdictionLevel,
		TaxType: d.taxType, Country: d.country, State: d.state,
	}
}

// ForgetIdempotencyKeys drops every saved idempotency key of every account, as Stripe does
// after its retention period: a retry with an old key then executes again.
func (s *Server) ForgetIdempotencyKeys() {
	for _, a := range s.allAccounts() {
		a.idem.forgetAll()
	}
}
