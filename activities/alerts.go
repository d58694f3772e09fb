package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// AlertActivities deliver outgoing webhooks (package alerts): the activities of the
// delivery workflow. Every exported method is an activity.
type AlertActivities struct {
	Store   *store.Store
	Secrets *secretbox.Keyring
	// HTTPClient sends the deliveries (nil: a default client); redirects are never followed.
	HTTPClient *http.Client
	// Now is the clock of the signatures and the records (tests replace it).
	Now func() time.Time
}

// WebhookSecretPlace is where a webhook endpoint's signing secret is sealed (secretbox's
// associated data); the API seals with it and the delivery opens with it.
func WebhookSecretPlace(endpointID string) string {
	return SecretPlace("webhook_endpoints", endpointID, "secret")
}

// Delivery statuses (webhook_deliveries.status).
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	// DeliveryCanceled: the endpoint was deleted before the event reached it.
	DeliveryCanceled = "canceled"
)

// Error types of DeliverWebhook (Temporal application error types).
const (
	// ErrTypeWebhookRejected: the endpoint answered, but not 2xx. Retried.
	ErrTypeWebhookRejected = "webhook_rejected"
	// ErrTypeWebhookUnreachable: no answer (connection refused, timeout, TLS). Retried.
	ErrTypeWebhookUnreachable = "webhook_unreachable"
	// ErrTypeWebhookSecretUnreadable: the secret cannot be decrypted. Retried: putting the
	// secret again fixes it.
	ErrTypeWebhookSecretUnreadable = "webhook_secret_unreadable"
	// ErrTypeWebhookEventMissing: the event is not in the outbox. Not retryable.
	ErrTypeWebhookEventMissing = "webhook_event_missing"
)

// DeliveryRequestTimeout bounds one POST to an endpoint.
const DeliveryRequestTimeout = 30 * time.Second

// An endpoint's Retry-After is honoured between these bounds.
const (
	minRetryAfter = 10 * time.Second
	maxRetryAfter = time.Hour
)

// DeliverWebhookResult is the outcome of a delivery that will not be retried.
type DeliverWebhookResult struct {
	// Status is DeliveryDelivered, or DeliveryCanceled when the endpoint no longer exists.
	Status     string
	StatusCode int `json:",omitempty"`
}

// EndWebhookDeliveryInput ends a delivery that will not be attempted again.
type EndWebhookDeliveryInput struct {
	EventID    string
	EndpointID string
	// Status is DeliveryFailed or DeliveryCanceled.
	Status string
	Reason string
}

func (a *AlertActivities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *AlertActivities) client() *http.Client {
	c := http.Client{Timeout: DeliveryRequestTimeout}
	if a.HTTPClient != nil {
		c = *a.HTTPClient
	}
	// A 3xx is an answer that is not a delivery: POSTing the event (and its signature)
	// elsewhere is the endpoint owner's decision to make by changing the URL.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// DeliverWebhook POSTs the event to the endpoint, signed with the endpoint's current secret,
// and records the attempt. A 2xx delivers it; any other answer, or none, is a retryable
// error. A deleted endpoint ends the delivery (canceled) without error; an event already
// delivered is not sent again.
func (a *AlertActivities) DeliverWebhook(ctx context.Context, in alerts.DeliveryInput) (DeliverWebhookResult, error) {
	ref := sqldb.GetWebhookDeliveryParams{EventID: in.EventID, EndpointID: in.EndpointID}
	if d, err := a.Store.GetWebhookDelivery(ctx, ref); err == nil && d.Status == DeliveryDelivered {
		return DeliverWebhookResult{Status: DeliveryDelivered, StatusCode: int(deref32(d.LastStatusCode))}, nil
	} else if err != nil && !store.IsNotFound(err) {
		return DeliverWebhookResult{}, err
	}
	ep, err := a.Store.GetWebhookEndpoint(ctx, in.EndpointID)
	if store.IsNotFound(err) {
		reason := "the webhook endpoint was deleted before the event reached it"
		if err := a.Store.EndWebhookDelivery(ctx, sqldb.EndWebhookDeliveryParams{
			EventID: in.EventID, EndpointID: in.EndpointID, Status: DeliveryCanceled, LastError: &reason,
		}); err != nil {
			return DeliverWebhookResult{}, err
		}
		return DeliverWebhookResult{Status: DeliveryCanceled}, nil
	} else if err != nil {
		return DeliverWebhookResult{}, err
	}
	ev, err := a.Store.GetOutgoingEvent(ctx, in.EventID)
	if store.IsNotFound(err) {
		return DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s is not in outgoing_events", in.EventID), ErrTypeWebhookEventMissing, nil)
	} else if err != nil {
		return DeliverWebhookResult{}, err
	}
	secret, err := a.Secrets.Open(ep.SecretSealed, WebhookSecretPlace(ep.ID))
	if err != nil {
		msg := fmt.Sprintf("the secret of webhook endpoint %s cannot be decrypted (%v): put it again with PUT /v1/webhook-endpoints/%s, or restore the old key in TAXFLOW_SECRET_KEY", ep.ID, err, ep.ID)
		if rerr := a.record(ctx, in, DeliveryPending, 0, msg); rerr != nil {
			return DeliverWebhookResult{}, rerr
		}
		return DeliverWebhookResult{}, temporal.NewApplicationError(msg, ErrTypeWebhookSecretUnreadable)
	}

	body := []byte(ev.Body)
	rctx, cancel := context.WithTimeout(ctx, DeliveryRequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, ep.Url, bytes.NewReader(body))
	if err != nil {
		msg := fmt.Sprintf("the URL of webhook endpoint %s cannot be used (%v): fix it with PUT /v1/webhook-endpoints/%s", ep.ID, err, ep.ID)
		if rerr := a.record(ctx, in, DeliveryPending, 0, msg); rerr != nil {
			return DeliverWebhookResult{}, rerr
		}
		return DeliverWebhookResult{}, temporal.NewApplicationError(msg, ErrTypeWebhookUnreachable)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "taxflow-webhooks/1")
	req.Header.Set(alerts.HeaderEventID, ev.ID)
	req.Header.Set(alerts.HeaderSignature, alerts.Sign(body, secret, a.now()))

	resp, err := a.client().Do(req)
	if err != nil {
		msg := "no answer from the endpoint: " + withoutURL(err).Error()
		if rerr := a.record(ctx, in, DeliveryPending, 0, msg); rerr != nil {
			return DeliverWebhookResult{}, rerr
		}
		return DeliverWebhookResult{}, temporal.NewApplicationError(msg, ErrTypeWebhookUnreachable)
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	_ = resp.Body.Close()

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := a.record(ctx, in, DeliveryDelivered, resp.StatusCode, ""); err != nil {
			return DeliverWebhookResult{}, err
		}
		return DeliverWebhookResult{Status: DeliveryDelivered, StatusCode: resp.StatusCode}, nil
	}
	msg := fmt.Sprintf("the endpoint answered HTTP %d", resp.StatusCode)
	if s := printable(snippet, 200); s != "" {
		msg += ": " + s
	}
	if err := a.record(ctx, in, DeliveryPending, resp.StatusCode, msg); err != nil {
		return DeliverWebhookResult{}, err
	}
	opts := temporal.ApplicationErrorOptions{}
	if d := retryAfter(resp); d > 0 {
		opts.NextRetryDelay = d
	}
	return DeliverWebhookResult{}, temporal.NewApplicationErrorWithOptions(msg, ErrTypeWebhookRejected, opts)
}

// EndWebhookDelivery marks a delivery failed (retries exhausted) or canceled. A delivery
// already delivered stays delivered.
func (a *AlertActivities) EndWebhookDelivery(ctx context.Context, in EndWebhookDeliveryInput) error {
	if in.Status != DeliveryFailed && in.Status != DeliveryCanceled {
		return temporal.NewNonRetryableApplicationError("EndWebhookDelivery: status must be failed or canceled, not "+strconv.Quote(in.Status), "bad_input", nil)
	}
	var reason *string
	if in.Reason != "" {
		reason = &in.Reason
	}
	return a.Store.EndWebhookDelivery(ctx, sqldb.EndWebhookDeliveryParams{
		EventID: in.EventID, EndpointID: in.EndpointID, Status: in.Status, LastError: reason,
	})
}

// record stores one attempt's outcome.
func (a *AlertActivities) record(ctx context.Context, in alerts.DeliveryInput, status string, code int, lastError string) error {
	now := a.now().UTC()
	p := sqldb.RecordWebhookDeliveryAttemptParams{
		EventID: in.EventID, EndpointID: in.EndpointID, Status: status, AttemptedAt: &now,
	}
	if code != 0 {
		c := int32(code)
		p.LastStatusCode = &c
	}
	if lastError != "" {
		p.LastError = &lastError
	}
	if status == DeliveryDelivered {
		p.DeliveredAt = &now
	}
	_, err := a.Store.RecordWebhookDeliveryAttempt(ctx, p)
	if err != nil {
		return fmt.Errorf("record webhook delivery attempt: %w", err)
	}
	if activity.IsActivity(ctx) && status != DeliveryDelivered {
		activity.GetLogger(ctx).Info("webhook delivery attempt failed", "event_id", in.EventID, "endpoint_id", in.EndpointID, "error", lastError)
	}
	return nil
}

// retryAfter reads a Retry-After in seconds (429, 503), kept between minRetryAfter and
// maxRetryAfter.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || n <= 0 {
		return 0
	}
	return min(max(time.Duration(n)*time.Second, minRetryAfter), maxRetryAfter)
}

// printable keeps the start of an endpoint's answer for last_error: one line, printable.
func printable(b []byte, max int) string {
	s := strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// withoutURL drops the URL (which may carry a token in its query) from a client error.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func deref32(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}
