package stripesim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// openInvoice is a finalized invoice of amount (no tax) for a new customer.
func (h *harness) openInvoice(sc *stripe.Client, amount int64) *stripe.Invoice {
	h.t.Helper()
	inv := h.draft(sc, h.customer(sc).ID)
	h.addLines(sc, inv.ID, amountLine(amount, "Platform fee"))
	inv, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(h.t, err)
	require.Equal(h.t, stripe.InvoiceStatusOpen, inv.Status)
	return inv
}

// invoicePaymentsOf lists the InvoicePayments of a payment intent the way taxflow finds the
// invoice of a dispute in basil.
func invoicePaymentsOf(t *testing.T, h *harness, sc *stripe.Client, paymentIntent string) []*stripe.InvoicePayment {
	t.Helper()
	var out []*stripe.InvoicePayment
	for ip, err := range sc.V1InvoicePayments.List(h.ctx, &stripe.InvoicePaymentListParams{
		Payment: &stripe.InvoicePaymentListPaymentParams{Type: stripe.String("payment_intent"), PaymentIntent: stripe.String(paymentIntent)},
	}) {
		require.NoError(t, err)
		out = append(out, ip)
	}
	return out
}

func eventTypesOf(t *testing.T, h *harness, sc *stripe.Client) []string {
	t.Helper()
	var out []string
	for ev, err := range sc.V1Events.List(h.ctx, &stripe.EventListParams{}) {
		require.NoError(t, err)
		out = append([]string{string(ev.Type)}, out...)
	}
	return out
}

// Paying an open invoice creates a payment intent, a succeeded charge and the InvoicePayment
// linking invoice and payment intent; the invoice is paid and says so with invoice.paid and
// invoice.payment_succeeded. Neither the payment intent nor the charge names the invoice.
func TestPayingAnInvoiceLinksItToItsPaymentIntent(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 12345)

	code, body := h.control("POST", "/_sim/invoices/"+inv.ID+"/pay", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var p Payment
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, "succeeded", p.Status)
	assert.Equal(t, stripe.InvoiceStatusPaid, stripe.InvoiceStatus(p.InvoiceStatus))
	assert.Equal(t, int64(12345), p.Amount)
	assert.Regexp(t, `^pi_`, p.PaymentIntent)
	assert.Regexp(t, `^ch_`, p.Charge)
	assert.Regexp(t, `^inpay_`, p.InvoicePayment)

	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusPaid, got.Status)
	assert.Equal(t, int64(12345), got.AmountPaid)
	assert.Zero(t, got.AmountRemaining)
	assert.Equal(t, int64(1), got.AttemptCount)

	pi, err := sc.V1PaymentIntents.Retrieve(h.ctx, p.PaymentIntent, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.PaymentIntentStatusSucceeded, pi.Status)
	assert.Equal(t, int64(12345), pi.AmountReceived)
	assert.Equal(t, p.Charge, pi.LatestCharge.ID)
	ch, err := sc.V1Charges.Retrieve(h.ctx, p.Charge, nil)
	require.NoError(t, err)
	assert.True(t, ch.Paid)
	assert.Equal(t, stripe.ChargeStatusSucceeded, ch.Status)
	assert.Equal(t, p.PaymentIntent, ch.PaymentIntent.ID)

	ips := invoicePaymentsOf(t, h, sc, p.PaymentIntent)
	require.Len(t, ips, 1)
	assert.Equal(t, inv.ID, ips[0].Invoice.ID)
	assert.Equal(t, "paid", ips[0].Status)
	assert.Equal(t, int64(12345), ips[0].AmountPaid)
	assert.True(t, ips[0].IsDefault)
	assert.Equal(t, stripe.InvoicePaymentPaymentTypePaymentIntent, ips[0].Payment.Type)
	byInvoice := 0
	for ip, err := range sc.V1InvoicePayments.List(h.ctx, &stripe.InvoicePaymentListParams{Invoice: stripe.String(inv.ID)}) {
		require.NoError(t, err)
		assert.Equal(t, p.InvoicePayment, ip.ID)
		byInvoice++
	}
	assert.Equal(t, 1, byInvoice)
	one, err := sc.V1InvoicePayments.Retrieve(h.ctx, p.InvoicePayment, nil)
	require.NoError(t, err)
	assert.Equal(t, inv.ID, one.Invoice.ID)
	assert.Empty(t, invoicePaymentsOf(t, h, sc, "pi_unknown"))

	types := eventTypesOf(t, h, sc)
	assert.Subset(t, types, []string{"payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
		"invoice_payment.paid", "invoice.payment_succeeded", "invoice.paid"})

	// Paid is terminal for payment.
	_, err = h.sim.PayInvoice(inv.ID)
	assert.ErrorContains(t, err, "already paid")
	code, _ = h.control("POST", "/_sim/invoices/in_missing/pay", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

// The API's pay endpoint goes the same way; paid_out_of_band creates no payment.
func TestPayEndpointCreatesTheSamePaymentObjects(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 5000)
	_, err := sc.V1Invoices.Pay(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	snap, _ := h.sim.Invoice(inv.ID)
	require.NotEmpty(t, snap.PaymentIntent)
	assert.Len(t, invoicePaymentsOf(t, h, sc, snap.PaymentIntent), 1)

	oob := h.openInvoice(sc, 5000)
	_, err = sc.V1Invoices.Pay(h.ctx, oob.ID, &stripe.InvoicePayParams{PaidOutOfBand: stripe.Bool(true)})
	require.NoError(t, err)
	snap, _ = h.sim.Invoice(oob.ID)
	assert.Equal(t, "paid", snap.Status)
	assert.Empty(t, snap.PaymentIntent)
	_, err = h.sim.OpenDispute(oob.ID, "")
	assert.ErrorContains(t, err, "not paid by a charge", "an out-of-band payment has no charge to dispute")
}

// A failed attempt leaves the invoice open with one more attempt counted and sends
// invoice.payment_failed; the next attempt reuses the invoice's payment intent.
func TestAFailedPaymentAttemptLeavesTheInvoiceOpen(t *testing.T) {
	rc := newReceiver(t)
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 7000)

	code, body := h.control("POST", "/_sim/invoices/"+inv.ID+"/fail_payment", map[string]string{"decline_code": "insufficient_funds"})
	require.Equal(t, http.StatusOK, code, string(body))
	failed, err := h.sim.FailInvoicePayment(inv.ID, "")
	require.NoError(t, err)
	assert.Equal(t, "failed", failed.Status)
	assert.Equal(t, int64(2), failed.AttemptCount)

	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.InvoiceStatusOpen, got.Status)
	assert.Equal(t, int64(2), got.AttemptCount)
	assert.True(t, got.Attempted)
	assert.Equal(t, int64(7000), got.AmountRemaining)

	pi, err := sc.V1PaymentIntents.Retrieve(h.ctx, failed.PaymentIntent, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.PaymentIntentStatusRequiresPaymentMethod, pi.Status)
	require.NotNil(t, pi.LastPaymentError)
	assert.Equal(t, stripe.ErrorCodeCardDeclined, pi.LastPaymentError.Code)
	assert.Equal(t, stripe.DeclineCode("generic_decline"), pi.LastPaymentError.DeclineCode)
	ch, err := sc.V1Charges.Retrieve(h.ctx, failed.Charge, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.ChargeStatusFailed, ch.Status)
	assert.Equal(t, "card_declined", ch.FailureCode)

	paid, err := h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)
	assert.Equal(t, failed.PaymentIntent, paid.PaymentIntent, "one payment intent per invoice")
	assert.Equal(t, failed.InvoicePayment, paid.InvoicePayment)
	assert.Equal(t, int64(3), paid.AttemptCount)

	_, err = h.sim.FailInvoicePayment(inv.ID, "")
	assert.Error(t, err, "a paid invoice is not attempted again")
	_, err = h.sim.FailInvoicePayment(inv.ID, "not_a_code")
	assert.Error(t, err)

	h.flush()
	var failures int
	for _, ev := range rc.events(testSecret) {
		if ev.Type == "invoice.payment_failed" {
			failures++
			var in stripe.Invoice
			require.NoError(t, json.Unmarshal(ev.Data.Raw, &in))
			assert.Equal(t, stripe.InvoiceStatusOpen, in.Status)
		}
	}
	assert.Equal(t, 2, failures)
}

// Voiding an invoice whose payment failed cancels its payment intent and InvoicePayment.
func TestVoidingAnInvoiceCancelsItsOpenPayment(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 7000)
	failed, err := h.sim.FailInvoicePayment(inv.ID, "expired_card")
	require.NoError(t, err)
	_, err = sc.V1Invoices.VoidInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	pi, err := sc.V1PaymentIntents.Retrieve(h.ctx, failed.PaymentIntent, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.PaymentIntentStatusCanceled, pi.Status)
	ips := invoicePaymentsOf(t, h, sc, failed.PaymentIntent)
	require.Len(t, ips, 1)
	assert.Equal(t, "canceled", ips[0].Status)
}

// A dispute names its charge and payment intent, not its invoice: taxflow finds the invoice
// through GET /v1/invoice_payments filtered by the payment intent, as stripe-go sends it.
func TestDisputeLinksToInvoiceThroughInvoicePayments(t *testing.T) {
	rc := newReceiver(t)
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 25000)
	paid, err := h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)

	code, body := h.control("POST", "/_sim/invoices/"+inv.ID+"/dispute", map[string]string{"reason": "product_not_received"})
	require.Equal(t, http.StatusOK, code, string(body))
	var opened Dispute
	require.NoError(t, json.Unmarshal(body, &opened))
	assert.Regexp(t, `^du_`, opened.ID)
	assert.Equal(t, "needs_response", opened.Status)
	code, body = h.control("POST", "/_sim/disputes/"+opened.ID+"/close", map[string]string{"status": "lost"})
	require.Equal(t, http.StatusOK, code, string(body))
	h.flush()

	// What a webhook handler does with charge.dispute.created.
	var created, closed *stripe.Event
	evs := rc.events(testSecret)
	for i := range evs {
		switch evs[i].Type {
		case "charge.dispute.created":
			created = &evs[i]
		case "charge.dispute.closed":
			closed = &evs[i]
		}
	}
	require.NotNil(t, created)
	require.NotNil(t, closed)
	var du stripe.Dispute
	require.NoError(t, json.Unmarshal(created.Data.Raw, &du))
	assert.Equal(t, stripe.DisputeStatusNeedsResponse, du.Status)
	assert.Equal(t, paid.Charge, du.Charge.ID)
	assert.Equal(t, int64(25000), du.Amount)
	assert.Equal(t, stripe.DisputeReasonProductNotReceived, du.Reason)
	ips := invoicePaymentsOf(t, h, sc, du.PaymentIntent.ID)
	require.Len(t, ips, 1)
	assert.Equal(t, inv.ID, ips[0].Invoice.ID)

	require.NoError(t, json.Unmarshal(closed.Data.Raw, &du))
	assert.Equal(t, stripe.DisputeStatusLost, du.Status)
	got, err := sc.V1Disputes.Retrieve(h.ctx, opened.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, stripe.DisputeStatusLost, got.Status)
	ch, err := sc.V1Charges.Retrieve(h.ctx, paid.Charge, nil)
	require.NoError(t, err)
	assert.True(t, ch.Disputed)
	n := 0
	for d, err := range sc.V1Disputes.List(h.ctx, &stripe.DisputeListParams{PaymentIntent: stripe.String(paid.PaymentIntent)}) {
		require.NoError(t, err)
		assert.Equal(t, opened.ID, d.ID)
		n++
	}
	assert.Equal(t, 1, n)
}

// Disputes need a paid card charge, one dispute per charge, and close once, won or lost.
func TestDisputeRules(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.openInvoice(sc, 1000)
	_, err := h.sim.OpenDispute(inv.ID, "")
	assert.Error(t, err, "an open invoice has no charge to dispute")
	_, err = h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)
	_, err = h.sim.OpenDispute(inv.ID, "not_a_reason")
	assert.Error(t, err)
	d, err := h.sim.OpenDispute(inv.ID, "")
	require.NoError(t, err)
	assert.Equal(t, "fraudulent", d.Reason)
	assert.Equal(t, inv.ID, d.Invoice)
	_, err = h.sim.OpenDispute(inv.ID, "")
	assert.ErrorContains(t, err, "already disputed")
	_, err = h.sim.CloseDispute(d.ID, "maybe")
	assert.Error(t, err)
	won, err := h.sim.CloseDispute(d.ID, "won")
	require.NoError(t, err)
	assert.Equal(t, "won", won.Status)
	_, err = h.sim.CloseDispute(d.ID, "lost")
	assert.ErrorContains(t, err, "already closed")
	_, err = h.sim.CloseDispute("du_missing", "lost")
	assert.Error(t, err)
	code, _ := h.control("POST", "/_sim/disputes/du_missing/close", map[string]string{"status": "won"})
	assert.Equal(t, http.StatusNotFound, code)
	_, err = sc.V1Disputes.Retrieve(h.ctx, "du_missing", nil)
	stripeError(t, err, http.StatusNotFound)
}
