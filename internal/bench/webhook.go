package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/taxflow/taxflow/internal/testenv"
)

// paidWebhookLatency pays an invoice in the Stripe simulator, then sends taxflow Stripe's
// invoice.paid event, signed with the account's webhook secret, and returns how long it
// took from the webhook's POST until the API shows the invoice paid: the starter verifies
// and signals the workflow, which reads the invoice back from Stripe and records the
// payment.
func (s *stack) paidWebhookLatency(ctx context.Context, invoiceID string) (time.Duration, error) {
	var stripeID *string
	if err := s.db.QueryRow(ctx, "SELECT stripe_invoice_id FROM invoices WHERE id = $1", invoiceID).Scan(&stripeID); err != nil {
		return 0, fmt.Errorf("Stripe invoice of %s: %w", invoiceID, err)
	}
	if stripeID == nil {
		return 0, fmt.Errorf("%s has no Stripe invoice", invoiceID)
	}
	if _, err := s.stripeSim.PayInvoice(*stripeID); err != nil {
		return 0, fmt.Errorf("pay %s in the Stripe simulator: %w", *stripeID, err)
	}
	payload, err := json.Marshal(map[string]any{
		"id": "evt_bench_" + testenv.RandomHex(8), "object": "event", "api_version": stripe.APIVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "type": "invoice.paid",
		"data": map[string]any{"object": map[string]any{"id": *stripeID, "object": "invoice", "status": "paid"}},
	})
	if err != nil {
		return 0, fmt.Errorf("encode the event: %w", err)
	}
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: s.webhookSecret, Timestamp: time.Now()})
	start := time.Now()
	if _, err := s.api.doSigned(ctx, "/v1/webhooks/stripe/"+stripeAccountID, payload, signed.Header); err != nil {
		return 0, err
	}
	deadline := start.Add(30 * time.Second)
	for {
		v, err := s.api.invoice(ctx, invoiceID)
		if err == nil && v.Status == "paid" {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s not paid 30s after invoice.paid (status %q, %v)", invoiceID, v.Status, err)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
