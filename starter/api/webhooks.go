package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
	"go.temporal.io/api/serviceerror"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/workflows"
)

// WebhookTolerance is how old a Stripe signature may be: Stripe's own default, never a
// near-infinite window that would let a captured request be replayed.
const WebhookTolerance = 5 * time.Minute

const maxWebhookBody = 1 << 20

// stripeWebhook receives a Stripe event for one Stripe account. The signature is checked
// against that account's webhook secret before anything else; the event is then a hint
// forwarded to the invoice's workflow, which reads the invoice back from Stripe before
// acting. Events taxflow has seen are acknowledged and ignored; events about invoices it
// does not know are acknowledged and logged.
func (s *Server) stripeWebhook(w http.ResponseWriter, r *http.Request) error {
	accountID, err := pathID(r, "stripe_account_id")
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		return badRequest("body_too_large", "", "the event is over 1 MiB")
	}
	ctx := r.Context()
	acct, err := s.Store.GetStripeAccount(ctx, accountID)
	if store.IsNotFound(err) {
		return badRequest("unknown_stripe_account", "stripe_account_id", fmt.Sprintf("no Stripe account %q: point the webhook endpoint at /v1/webhooks/stripe/<taxflow's id of the account>", accountID))
	} else if err != nil {
		return err
	}
	if acct.WebhookSecretSealed == nil {
		return badRequest("webhook_secret_missing", "stripe_account_id", fmt.Sprintf("Stripe account %q has no webhook_secret: set it (whsec_...) with PUT /v1/stripe-accounts/%s", accountID, accountID))
	}
	secret, err := s.Secrets.Open(*acct.WebhookSecretSealed, activities.SecretPlace("stripe_accounts", accountID, "webhook_secret"))
	if err != nil {
		return fmt.Errorf("open the webhook secret of %s: %w", accountID, err)
	}
	ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret, webhook.ConstructEventOptions{Tolerance: WebhookTolerance})
	if err != nil {
		s.Log.Warn("stripe webhook refused", "stripe_account_id", accountID, "reason", err.Error())
		s.Metrics.CountWebhook(metrics.WebhookSourceStripe, "unverified", "refused")
		return signatureError(err)
	}
	log := s.Log.With("stripe_account_id", accountID, "event_id", ev.ID, "type", string(ev.Type))
	if _, err := s.Store.GetStripeEvent(ctx, ev.ID); err == nil {
		s.Metrics.CountWebhook(metrics.WebhookSourceStripe, string(ev.Type), "duplicate")
		writeJSON(w, http.StatusOK, map[string]any{"received": true, "duplicate": true})
		return nil
	} else if !store.IsNotFound(err) {
		return err
	}
	var raw json.RawMessage
	if ev.Data != nil {
		raw = ev.Data.Raw
	}
	if typ := string(ev.Type); typ == "charge.dispute.created" || typ == "charge.dispute.closed" {
		// Which invoice a dispute is about takes Stripe calls: a workflow of its own finds it
		// and signals the invoice.
		var obj struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.ID == "" {
			return badRequest("webhook_invalid", "", "the dispute event names no dispute")
		}
		if err := s.Workflows.ForwardStripeDispute(ctx, activities.DisputeEventInput{StripeAccountID: accountID, EventID: ev.ID, EventType: typ, DisputeID: obj.ID}); err != nil {
			log.Warn("dispute event not forwarded; Stripe will retry", "error", err)
			return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the event could not be forwarded; Stripe retries it")
		}
		if _, err := s.Store.InsertStripeEvent(ctx, sqldb.InsertStripeEventParams{ID: ev.ID, StripeAccountID: accountID, Type: typ}); err != nil && !store.IsNotFound(err) {
			return err
		}
		s.Metrics.CountWebhook(metrics.WebhookSourceStripe, typ, "accepted")
		writeJSON(w, http.StatusOK, map[string]any{"received": true})
		return nil
	}
	invoiceID, err := s.invoiceOfEvent(r, accountID, string(ev.Type), raw)
	if err != nil {
		return err
	}
	if invoiceID == "" {
		log.Info("stripe event about nothing taxflow knows; acknowledged")
	} else {
		err := s.Workflows.Signal(ctx, invoiceID, workflows.SignalStripeEvent, workflows.StripeEventSignal{EventID: ev.ID, Type: string(ev.Type)})
		var closed *serviceerror.NotFound
		switch {
		case errors.As(err, &closed):
			log.Warn("stripe event for an invoice whose workflow has ended; not applied", "invoice_id", invoiceID)
		case err != nil:
			// Not recorded: Stripe delivers it again.
			log.Warn("stripe event not forwarded; Stripe will retry", "invoice_id", invoiceID, "error", err)
			return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the event could not be forwarded; Stripe retries it")
		}
	}
	var inv *string
	if invoiceID != "" {
		inv = &invoiceID
	}
	if _, err := s.Store.InsertStripeEvent(ctx, sqldb.InsertStripeEventParams{ID: ev.ID, StripeAccountID: accountID, Type: string(ev.Type), InvoiceID: inv}); err != nil && !store.IsNotFound(err) {
		return err
	}
	s.Metrics.CountWebhook(metrics.WebhookSourceStripe, string(ev.Type), "accepted")
	writeJSON(w, http.StatusOK, map[string]any{"received": true})
	return nil
}

// forwarded are the events the invoice workflow acts on.
var forwarded = map[string]bool{
	"invoice.finalized": true, "invoice.paid": true, "invoice.payment_succeeded": true,
	"invoice.payment_failed": true, "invoice.marked_uncollectible": true, "invoice.voided": true,
	"invoice.deleted": true, "invoice.updated": true, "invoice.finalization_failed": true,
}

func signatureError(err error) error {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return badRequest("webhook_unsigned", "Stripe-Signature", "the request has no Stripe-Signature header")
	case errors.Is(err, webhook.ErrTooOld):
		return badRequest("webhook_too_old", "Stripe-Signature", fmt.Sprintf("the signature is older than %s (a replay, or a clock far off)", WebhookTolerance))
	case errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrInvalidHeader):
		return badRequest("webhook_signature_invalid", "Stripe-Signature", "the signature does not match this Stripe account's webhook secret")
	}
	return badRequest("webhook_invalid", "", "the event cannot be used: "+err.Error())
}

// invoiceOfEvent finds the taxflow invoice an event is about: by the Stripe invoice id
// taxflow recorded, on this account.
func (s *Server) invoiceOfEvent(r *http.Request, accountID, typ string, raw json.RawMessage) (string, error) {
	if !forwarded[typ] {
		return "", nil // nothing the workflow mirrors (disputes and credit notes: not yet)
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.ID == "" {
		return "", nil
	}
	inv, err := s.Store.GetInvoiceByStripeID(r.Context(), &obj.ID)
	if store.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if inv.StripeAccountID != accountID {
		return "", nil
	}
	return inv.ID, nil
}
