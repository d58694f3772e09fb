package stripesim

import (
	"net/http"
	"slices"

	"github.com/stripe/stripe-go/v82"
)

// Payments, as API version basil models them. Paying an invoice by card creates a
// PaymentIntent (pi_) and a Charge (ch_); an InvoicePayment (inpay_) links the invoice to
// the payment intent. Neither the payment intent nor the charge names its invoice any more,
// so a dispute (du_), which names its charge and payment intent, leads to its invoice only
// through GET /v1/invoice_payments?payment[type]=payment_intent&payment[payment_intent]=pi_...
//
// The simulated customer pays with a test card. Whether an attempt succeeds is up to the
// test: POST /v1/invoices/{id}/pay and PayInvoice succeed, FailInvoicePayment declines. An
// invoice has one payment intent, reused by every attempt (each attempt is a new charge), and
// one InvoicePayment: open until the payment succeeds (paid) or the invoice is settled
// another way (canceled).

type paymentIntent struct {
	id, customer, currency string
	status                 string // requires_payment_method | succeeded | canceled
	amount, amountReceived int64
	created, canceledAt    int64
	latestCharge           string
	lastError              *apiError
}

type charge struct {
	id, customer, currency, paymentIntent string
	status                                string // succeeded | failed
	amount, amountRefunded, created       int64
	failureCode, failureMessage           string
	declineCode                           string
	disputed                              bool
	invoice                               string // the simulator's own link; basil does not show it
}

type invoicePayment struct {
	id, invoice, paymentIntent, currency string
	status                               string // open | paid | canceled
	amountRequested, amountPaid          int64
	created, paidAt, canceledAt          int64
}

type dispute struct {
	id, charge, paymentIntent, currency string
	reason, status                      string
	amount, created                     int64
	invoice                             string // the simulator's own link
}

type refund struct {
	id, charge, paymentIntent, currency string
	amount, created                     int64
}

// declines are the test card declines FailInvoicePayment can simulate: decline code →
// error code and message, as Stripe reports them.
var declines = map[string]struct{ code, message string }{
	"generic_decline":        {"card_declined", "Your card was declined."},
	"insufficient_funds":     {"card_declined", "Your card has insufficient funds."},
	"lost_card":              {"card_declined", "Your card was declined."},
	"stolen_card":            {"card_declined", "Your card was declined."},
	"do_not_honor":           {"card_declined", "Your card was declined."},
	"fraudulent":             {"card_declined", "Your card was declined."},
	"card_velocity_exceeded": {"card_declined", "Your card has exceeded its velocity limit."},
	"expired_card":           {"expired_card", "Your card has expired."},
	"incorrect_cvc":          {"incorrect_cvc", "Your card's security code is incorrect."},
	"processing_error":       {"processing_error", "An error occurred while processing your card. Try again in a little bit."},
}

// disputeReasons are Stripe's dispute reasons.
var disputeReasons = []string{
	"bank_cannot_process", "check_returned", "credit_not_processed", "customer_initiated", "debit_not_authorized",
	"duplicate", "fraudulent", "general", "incorrect_account_details", "insufficient_funds", "noncompliant",
	"product_not_received", "product_unacceptable", "subscription_canceled", "unrecognized",
}

// paymentFor returns the invoice's payment intent and InvoicePayment, creating them on the
// first payment attempt for the amount remaining.
func (c *call) paymentFor(inv *invoice) (*paymentIntent, *invoicePayment) {
	remaining := inv.amountDue - inv.amountPaid
	if inv.paymentIntent != "" {
		pi, _ := c.acct.paymentIntents.get(inv.paymentIntent)
		ip, _ := c.acct.invoicePayments.get(inv.invoicePayment)
		if ip.status == "open" {
			// The amount follows the invoice (a credit note may have reduced it).
			pi.amount, ip.amountRequested = remaining, remaining
		}
		return pi, ip
	}
	pi := &paymentIntent{
		id: c.s.ids.next1("pi"), customer: inv.customer, currency: inv.currency, status: "requires_payment_method",
		amount: remaining, created: c.now,
	}
	ip := &invoicePayment{
		id: c.s.ids.next1("inpay"), invoice: inv.id, paymentIntent: pi.id, currency: inv.currency, status: "open",
		amountRequested: remaining, created: c.now,
	}
	c.acct.paymentIntents.add(pi.id, pi)
	c.acct.invoicePayments.add(ip.id, ip)
	inv.paymentIntent, inv.invoicePayment = pi.id, ip.id
	c.emit("payment_intent.created", renderPaymentIntent(pi), nil)
	return pi, ip
}

// attemptCharge charges the customer's card for the invoice's amount remaining; a non-empty
// declineCode makes the card decline.
func (c *call) attemptCharge(inv *invoice, declineCode string) (*paymentIntent, *charge, *invoicePayment) {
	pi, ip := c.paymentFor(inv)
	ch := &charge{
		id: c.s.ids.next1("ch"), customer: inv.customer, currency: inv.currency, paymentIntent: pi.id,
		amount: pi.amount, created: c.now, invoice: inv.id, status: "succeeded",
	}
	c.acct.charges.add(ch.id, ch)
	pi.latestCharge = ch.id
	inv.attempted = true
	inv.attemptCount++
	if declineCode != "" {
		d := declines[declineCode]
		ch.status, ch.failureCode, ch.failureMessage, ch.declineCode = "failed", d.code, d.message, declineCode
		e := newError(http.StatusPaymentRequired, "card_error", d.code, "", d.message)
		e.DeclineCode, e.Charge = declineCode, ch.id
		pi.status, pi.lastError = "requires_payment_method", e
		c.emit("charge.failed", renderCharge(ch), nil)
		c.emit("payment_intent.payment_failed", renderPaymentIntent(pi), nil)
		return pi, ch, ip
	}
	pi.status, pi.amountReceived, pi.lastError = "succeeded", pi.amount, nil
	ip.status, ip.amountPaid, ip.paidAt = "paid", pi.amount, c.now
	c.emit("charge.succeeded", renderCharge(ch), nil)
	c.emit("payment_intent.succeeded", renderPaymentIntent(pi), nil)
	c.emit("invoice_payment.paid", renderInvoicePayment(ip), nil)
	return pi, ch, ip
}

// payByCard pays an open or uncollectible invoice with a successful card charge.
func (c *call) payByCard(inv *invoice) (*paymentIntent, *charge, *invoicePayment) {
	pi, ch, ip := c.attemptCharge(inv, "")
	c.markPaid(inv, true)
	return pi, ch, ip
}

// markPaid settles an invoice; charged says a card payment succeeded (which Stripe reports
// with invoice.payment_succeeded besides invoice.paid).
func (c *call) markPaid(inv *invoice, charged bool) {
	inv.amountPaid = inv.amountDue
	inv.status, inv.paidAt = statusPaid, c.now
	out := c.renderInvoice(inv)
	if charged {
		c.emit("invoice.payment_succeeded", out, nil)
	}
	c.emit("invoice.paid", out, nil)
}

// cancelOpenPayment cancels the payment of an invoice settled without it (paid out of band,
// voided, credited in full).
func (c *call) cancelOpenPayment(inv *invoice) {
	if inv.invoicePayment == "" {
		return
	}
	ip, _ := c.acct.invoicePayments.get(inv.invoicePayment)
	if ip.status != "open" {
		return
	}
	ip.status, ip.canceledAt = "canceled", c.now
	pi, _ := c.acct.paymentIntents.get(inv.paymentIntent)
	pi.status, pi.canceledAt = "canceled", c.now
	c.emit("payment_intent.canceled", renderPaymentIntent(pi), nil)
}

// succeededCharge is the charge that paid an invoice, if a card paid it.
func (a *account) succeededCharge(inv *invoice) *charge {
	if inv.paymentIntent == "" {
		return nil
	}
	pi, _ := a.paymentIntents.get(inv.paymentIntent)
	if pi.status != "succeeded" {
		return nil
	}
	ch, _ := a.charges.get(pi.latestCharge)
	return ch
}

// Payment is the outcome of a payment attempt driven by the simulator's control API.
type Payment struct {
	Account       string `json:"account"`
	Invoice       string `json:"invoice"`
	InvoiceStatus string `json:"invoice_status"`
	AttemptCount  int64  `json:"attempt_count"`
	// Status is the charge's: succeeded or failed.
	Status         string `json:"status"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	PaymentIntent  string `json:"payment_intent"`
	Charge         string `json:"charge"`
	InvoicePayment string `json:"invoice_payment"`
	DeclineCode    string `json:"decline_code,omitempty"`
}

// Dispute is a dispute as the simulator's control API reports it.
type Dispute struct {
	Account       string `json:"account"`
	ID            string `json:"id"`
	Charge        string `json:"charge"`
	PaymentIntent string `json:"payment_intent"`
	// Invoice is the disputed invoice, which the Stripe object itself does not name.
	Invoice  string `json:"invoice"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Reason   string `json:"reason"`
	Status   string `json:"status"`
}

func paymentView(a *account, inv *invoice, pi *paymentIntent, ch *charge, ip *invoicePayment, declineCode string) Payment {
	return Payment{
		Account: a.label, Invoice: inv.id, InvoiceStatus: inv.status, AttemptCount: inv.attemptCount,
		Status: ch.status, Amount: ch.amount, Currency: ch.currency,
		PaymentIntent: pi.id, Charge: ch.id, InvoicePayment: ip.id, DeclineCode: declineCode,
	}
}

func disputeView(a *account, d *dispute) Dispute {
	return Dispute{
		Account: a.label, ID: d.id, Charge: d.charge, PaymentIntent: d.paymentIntent, Invoice: d.invoice,
		Amount: d.amount, Currency: d.currency, Reason: d.reason, Status: d.status,
	}
}

// inAccountOf runs fn with the account that owns an object locked. The control API names
// objects by id alone; ids are unique across accounts.
func (s *Server) inAccountOf(owns func(a *account) bool, fn func(c *call) *apiError) (bool, error) {
	for _, a := range s.allAccounts() {
		a.mu.Lock()
		if !owns(a) {
			a.mu.Unlock()
			continue
		}
		e := fn(s.backgroundCall(a))
		a.mu.Unlock()
		if e != nil {
			return true, e
		}
		return true, nil
	}
	return false, nil
}

func (s *Server) withInvoice(id string, fn func(c *call, inv *invoice) *apiError) error {
	found, err := s.inAccountOf(func(a *account) bool {
		inv, ok := a.invoices.get(id)
		return ok && !inv.deleted
	}, func(c *call) *apiError {
		inv, _ := c.acct.invoices.get(id)
		return fn(c, inv)
	})
	if !found {
		return noSuchInPath("invoice", id, "invoice")
	}
	return err
}

// PayInvoice pays an open (or uncollectible) invoice with the customer's test card, whichever
// account owns it: it creates (or reuses) the invoice's payment intent, a succeeded charge
// and the InvoicePayment, marks the invoice paid, and sends charge.succeeded,
// payment_intent.succeeded, invoice_payment.paid, invoice.payment_succeeded and invoice.paid.
func (s *Server) PayInvoice(invoiceID string) (Payment, error) {
	var out Payment
	err := s.withInvoice(invoiceID, func(c *call, inv *invoice) *apiError {
		switch inv.status {
		case statusOpen, statusUncollectible:
		case statusPaid:
			return invalidRequest("", "", "Invoice is already paid")
		default:
			return invalidRequest("", "", "Only open or uncollectible invoices can be paid; this invoice is %s.", inv.status)
		}
		pi, ch, ip := c.payByCard(inv)
		out = paymentView(c.acct, inv, pi, ch, ip, "")
		return nil
	})
	return out, err
}

// FailInvoicePayment makes a payment attempt on an open invoice fail with a card decline
// (declineCode "" means generic_decline; see the package documentation for the others):
// the invoice stays open with attempt_count one higher, a failed charge is created on the
// invoice's payment intent, and charge.failed, payment_intent.payment_failed and
// invoice.payment_failed are sent.
func (s *Server) FailInvoicePayment(invoiceID, declineCode string) (Payment, error) {
	if declineCode == "" {
		declineCode = "generic_decline"
	}
	if _, ok := declines[declineCode]; !ok {
		return Payment{}, invalidParam("", "decline_code", "Unknown decline code %q.", declineCode)
	}
	var out Payment
	err := s.withInvoice(invoiceID, func(c *call, inv *invoice) *apiError {
		if inv.status != statusOpen {
			return invalidRequest("", "", "Only open invoices are attempted; this invoice is %s.", inv.status)
		}
		pi, ch, ip := c.attemptCharge(inv, declineCode)
		c.emit("invoice.payment_failed", c.renderInvoice(inv), nil)
		out = paymentView(c.acct, inv, pi, ch, ip, declineCode)
		return nil
	})
	return out, err
}

// OpenDispute opens a dispute (status needs_response) on the charge that paid an invoice, as
// the cardholder's bank would, and sends charge.dispute.created. reason "" means fraudulent.
func (s *Server) OpenDispute(invoiceID, reason string) (Dispute, error) {
	if reason == "" {
		reason = "fraudulent"
	}
	if !slices.Contains(disputeReasons, reason) {
		return Dispute{}, invalidParam("", "reason", "Invalid reason: must be one of %s", joinChoices(disputeReasons))
	}
	var out Dispute
	err := s.withInvoice(invoiceID, func(c *call, inv *invoice) *apiError {
		ch := c.acct.succeededCharge(inv)
		if inv.status != statusPaid || ch == nil {
			return invalidRequest("", "", "Invoice %s was not paid by a charge, so there is no charge to dispute.", inv.id)
		}
		if ch.disputed {
			return invalidRequest("", "", "The charge %s is already disputed.", ch.id)
		}
		d := &dispute{
			id: c.s.ids.next1("du"), charge: ch.id, paymentIntent: ch.paymentIntent, currency: ch.currency,
			reason: reason, status: "needs_response", amount: ch.amount, created: c.now, invoice: inv.id,
		}
		c.acct.disputes.add(d.id, d)
		ch.disputed = true
		c.emit("charge.dispute.created", renderDispute(d), nil)
		out = disputeView(c.acct, d)
		return nil
	})
	return out, err
}

// CloseDispute closes an open dispute as won or lost and sends charge.dispute.closed.
func (s *Server) CloseDispute(disputeID, status string) (Dispute, error) {
	if status != "won" && status != "lost" {
		return Dispute{}, invalidParam("", "status", "A dispute closes as won or lost, not %q.", status)
	}
	var out Dispute
	found, err := s.inAccountOf(func(a *account) bool {
		_, ok := a.disputes.get(disputeID)
		return ok
	}, func(c *call) *apiError {
		d, _ := c.acct.disputes.get(disputeID)
		if d.status == "won" || d.status == "lost" {
			return invalidRequest("", "", "The dispute %s is already closed (%s).", d.id, d.status)
		}
		d.status = status
		c.emit("charge.dispute.closed", renderDispute(d), nil)
		out = disputeView(c.acct, d)
		return nil
	})
	if !found {
		return Dispute{}, noSuchInPath("dispute", disputeID, "dispute")
	}
	return out, err
}

// The API objects.

func (s *Server) paymentRoutes() []route {
	retrieve := func(known any) endpointParams {
		return endpointParams{withExpand(map[string]spec{}), knownFrom(known)}
	}
	return []route{
		{method: "GET", pattern: "/v1/payment_intents/{id}", fn: retrievePaymentIntent,
			params: retrieve(stripe.PaymentIntentRetrieveParams{})},
		{method: "GET", pattern: "/v1/charges/{id}", fn: retrieveCharge, params: retrieve(stripe.ChargeRetrieveParams{})},
		{method: "GET", pattern: "/v1/refunds/{id}", fn: retrieveRefund, params: retrieve(stripe.RefundRetrieveParams{})},
		{method: "GET", pattern: "/v1/disputes/{id}", fn: retrieveDispute, params: retrieve(stripe.DisputeRetrieveParams{})},
		{method: "GET", pattern: "/v1/disputes", fn: listDisputes,
			params: endpointParams{listSpec(map[string]spec{"charge": str(), "payment_intent": str(), "created": intOrRange()}),
				knownFrom(stripe.DisputeListParams{})}},
		{method: "GET", pattern: "/v1/invoice_payments/{id}", fn: retrieveInvoicePayment,
			params: retrieve(stripe.InvoicePaymentRetrieveParams{})},
		{method: "GET", pattern: "/v1/invoice_payments", fn: listInvoicePayments,
			params: endpointParams{listSpec(map[string]spec{
				"invoice": str(), "status": oneOf("open", "paid", "canceled"),
				"payment": obj(map[string]spec{"type": oneOf("charge", "payment_intent"), "payment_intent": str()}),
			}), knownFrom(stripe.InvoicePaymentListParams{})}},
	}
}

func retrievePaymentIntent(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	pi, ok := c.acct.paymentIntents.get(id)
	if !ok {
		return nil, noSuchInPath("payment_intent", id, "intent")
	}
	return renderPaymentIntent(pi), nil
}

func retrieveCharge(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	ch, ok := c.acct.charges.get(id)
	if !ok {
		return nil, noSuchInPath("charge", id, "charge")
	}
	return renderCharge(ch), nil
}

func retrieveRefund(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	r, ok := c.acct.refunds.get(id)
	if !ok {
		return nil, noSuchInPath("refund", id, "refund")
	}
	return renderRefund(r), nil
}

func retrieveDispute(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	d, ok := c.acct.disputes.get(id)
	if !ok {
		return nil, noSuchInPath("dispute", id, "dispute")
	}
	return renderDispute(d), nil
}

func listDisputes(c *call) (any, *apiError) {
	chargeID, piID := c.params.strOf("charge"), c.params.strOf("payment_intent")
	created := createdFilter(c.params.get("created"))
	var items []*dispute
	for _, d := range c.acct.disputes.newestFirst() {
		if (chargeID != "" && d.charge != chargeID) || (piID != "" && d.paymentIntent != piID) || !created(d.created) {
			continue
		}
		items = append(items, d)
	}
	return paginate(c, items, func(x *dispute) string { return x.id }, "dispute", "/v1/disputes",
		func(x *dispute) any { return renderDispute(x) })
}

func retrieveInvoicePayment(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	ip, ok := c.acct.invoicePayments.get(id)
	if !ok {
		return nil, noSuchInPath("invoice_payment", id, "invoice_payment")
	}
	return renderInvoicePayment(ip), nil
}

// listInvoicePayments filters by invoice, status and payment (payment[type] with
// payment[payment_intent]), as stripe-go's InvoicePaymentListParams sends them.
func listInvoicePayments(c *call) (any, *apiError) {
	p := c.params
	invoiceID, status := p.strOf("invoice"), p.strOf("status")
	pay := p.get("payment")
	payType, piID := pay.strOf("type"), pay.strOf("payment_intent")
	if pay != nil && !pay.isEmpty() {
		if payType == "" {
			return nil, missingParam("payment[type]")
		}
		if payType == "payment_intent" && piID == "" {
			return nil, missingParam("payment[payment_intent]")
		}
		if payType == "charge" && piID != "" {
			return nil, invalidParam("", "payment[payment_intent]", "payment[payment_intent] can only be given with payment[type]=payment_intent.")
		}
	}
	var items []*invoicePayment
	for _, ip := range c.acct.invoicePayments.newestFirst() {
		if (invoiceID != "" && ip.invoice != invoiceID) || (status != "" && ip.status != status) ||
			payType == "charge" || (piID != "" && ip.paymentIntent != piID) {
			continue
		}
		items = append(items, ip)
	}
	return paginate(c, items, func(x *invoicePayment) string { return x.id }, "invoice_payment", "/v1/invoice_payments",
		func(x *invoicePayment) any { return renderInvoicePayment(x) })
}

type paymentIntentJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCapturable   int64             `json:"amount_capturable"`
	AmountReceived     int64             `json:"amount_received"`
	CanceledAt         *int64            `json:"canceled_at"`
	CancellationReason *string           `json:"cancellation_reason"`
	CaptureMethod      string            `json:"capture_method"`
	ConfirmationMethod string            `json:"confirmation_method"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           string            `json:"customer"`
	Description        *string           `json:"description"`
	LastPaymentError   *apiError         `json:"last_payment_error"`
	LatestCharge       *string           `json:"latest_charge"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	PaymentMethod      *string           `json:"payment_method"`
	PaymentMethodTypes []string          `json:"payment_method_types"`
	Status             string            `json:"status"`
}

func renderPaymentIntent(pi *paymentIntent) paymentIntentJSON {
	out := paymentIntentJSON{
		ID: pi.id, Object: "payment_intent", Amount: pi.amount, AmountReceived: pi.amountReceived,
		CanceledAt: nullableInt(pi.canceledAt), CaptureMethod: "automatic_async", ConfirmationMethod: "automatic",
		Created: pi.created, Currency: pi.currency, Customer: pi.customer, Description: nullable("Payment for Invoice"),
		LastPaymentError: pi.lastError, LatestCharge: nullable(pi.latestCharge), Metadata: map[string]string{},
		PaymentMethodTypes: []string{"card"}, Status: pi.status,
	}
	if pi.latestCharge != "" {
		out.PaymentMethod = nullable("pm_card_visa")
	}
	if pi.status == "canceled" {
		out.CancellationReason = nullable("void_invoice")
	}
	return out
}

type chargeJSON struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	Amount             int64             `json:"amount"`
	AmountCaptured     int64             `json:"amount_captured"`
	AmountRefunded     int64             `json:"amount_refunded"`
	BalanceTransaction *string           `json:"balance_transaction"`
	Captured           bool              `json:"captured"`
	Created            int64             `json:"created"`
	Currency           string            `json:"currency"`
	Customer           string            `json:"customer"`
	Description        *string           `json:"description"`
	Disputed           bool              `json:"disputed"`
	FailureCode        *string           `json:"failure_code"`
	FailureMessage     *string           `json:"failure_message"`
	Livemode           bool              `json:"livemode"`
	Metadata           map[string]string `json:"metadata"`
	Outcome            chargeOutcomeJSON `json:"outcome"`
	Paid               bool              `json:"paid"`
	PaymentIntent      string            `json:"payment_intent"`
	PaymentMethod      string            `json:"payment_method"`
	Refunded           bool              `json:"refunded"`
	Status             string            `json:"status"`
}

type chargeOutcomeJSON struct {
	NetworkStatus string  `json:"network_status"`
	Reason        *string `json:"reason"`
	RiskLevel     string  `json:"risk_level"`
	SellerMessage string  `json:"seller_message"`
	Type          string  `json:"type"`
}

func renderCharge(ch *charge) chargeJSON {
	out := chargeJSON{
		ID: ch.id, Object: "charge", Amount: ch.amount, AmountRefunded: ch.amountRefunded, Created: ch.created,
		Currency: ch.currency, Customer: ch.customer, Description: nullable("Payment for Invoice"),
		Disputed: ch.disputed, FailureCode: nullable(ch.failureCode), FailureMessage: nullable(ch.failureMessage),
		Metadata: map[string]string{}, PaymentIntent: ch.paymentIntent, PaymentMethod: "pm_card_visa",
		Refunded: ch.amountRefunded > 0 && ch.amountRefunded == ch.amount, Status: ch.status,
		Outcome: chargeOutcomeJSON{NetworkStatus: "approved_by_network", RiskLevel: "normal",
			SellerMessage: "Payment complete.", Type: "authorized"},
	}
	if ch.status == "succeeded" {
		out.AmountCaptured, out.Captured, out.Paid = ch.amount, true, true
		out.BalanceTransaction = nullable("txn_" + ch.id[len("ch_"):])
	} else {
		out.Outcome = chargeOutcomeJSON{NetworkStatus: "declined_by_network", Reason: nullable(ch.declineCode),
			RiskLevel: "normal", SellerMessage: "The bank did not return any further details with this decline.",
			Type: "issuer_declined"}
	}
	return out
}

type refundJSON struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Amount        int64             `json:"amount"`
	Charge        string            `json:"charge"`
	Created       int64             `json:"created"`
	Currency      string            `json:"currency"`
	Metadata      map[string]string `json:"metadata"`
	PaymentIntent string            `json:"payment_intent"`
	Reason        *string           `json:"reason"`
	Status        string            `json:"status"`
}

func renderRefund(r *refund) refundJSON {
	return refundJSON{
		ID: r.id, Object: "refund", Amount: r.amount, Charge: r.charge, Created: r.created, Currency: r.currency,
		Metadata: map[string]string{}, PaymentIntent: r.paymentIntent, Status: "succeeded",
	}
}

type disputeJSON struct {
	ID                  string              `json:"id"`
	Object              string              `json:"object"`
	Amount              int64               `json:"amount"`
	BalanceTransactions []any               `json:"balance_transactions"`
	Charge              string              `json:"charge"`
	Created             int64               `json:"created"`
	Currency            string              `json:"currency"`
	Evidence            map[string]any      `json:"evidence"`
	EvidenceDetails     evidenceDetailsJSON `json:"evidence_details"`
	IsChargeRefundable  bool                `json:"is_charge_refundable"`
	Livemode            bool                `json:"livemode"`
	Metadata            map[string]string   `json:"metadata"`
	PaymentIntent       string              `json:"payment_intent"`
	Reason              string              `json:"reason"`
	Status              string              `json:"status"`
}

type evidenceDetailsJSON struct {
	DueBy           int64 `json:"due_by"`
	HasEvidence     bool  `json:"has_evidence"`
	PastDue         bool  `json:"past_due"`
	SubmissionCount int64 `json:"submission_count"`
}

func renderDispute(d *dispute) disputeJSON {
	return disputeJSON{
		ID: d.id, Object: "dispute", Amount: d.amount, BalanceTransactions: []any{}, Charge: d.charge,
		Created: d.created, Currency: d.currency, Evidence: map[string]any{},
		// Stripe gives the merchant about three weeks to respond.
		EvidenceDetails: evidenceDetailsJSON{DueBy: d.created + 21*86400},
		Metadata:        map[string]string{}, PaymentIntent: d.paymentIntent, Reason: d.reason, Status: d.status,
	}
}

type invoicePaymentJSON struct {
	ID                string                    `json:"id"`
	Object            string                    `json:"object"`
	AmountPaid        *int64                    `json:"amount_paid"`
	AmountRequested   int64                     `json:"amount_requested"`
	Created           int64                     `json:"created"`
	Currency          string                    `json:"currency"`
	Invoice           string                    `json:"invoice"`
	IsDefault         bool                      `json:"is_default"`
	Livemode          bool                      `json:"livemode"`
	Payment           invoicePaymentPaymentJSON `json:"payment"`
	Status            string                    `json:"status"`
	StatusTransitions invoicePaymentTransitions `json:"status_transitions"`
}

type invoicePaymentPaymentJSON struct {
	PaymentIntent string `json:"payment_intent"`
	Type          string `json:"type"`
}

type invoicePaymentTransitions struct {
	CanceledAt *int64 `json:"canceled_at"`
	PaidAt     *int64 `json:"paid_at"`
}

func renderInvoicePayment(ip *invoicePayment) invoicePaymentJSON {
	out := invoicePaymentJSON{
		ID: ip.id, Object: "invoice_payment", AmountRequested: ip.amountRequested, Created: ip.created,
		Currency: ip.currency, Invoice: ip.invoice, IsDefault: true,
		Payment: invoicePaymentPaymentJSON{PaymentIntent: ip.paymentIntent, Type: "payment_intent"},
		Status:  ip.status,
		StatusTransitions: invoicePaymentTransitions{
			CanceledAt: nullableInt(ip.canceledAt), PaidAt: nullableInt(ip.paidAt),
		},
	}
	if ip.status == "paid" {
		paid := ip.amountPaid
		out.AmountPaid = &paid
	}
	return out
}
