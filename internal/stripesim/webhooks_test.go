package stripesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

const testSecret = "whsec_test_secret_0123456789"

// received is one webhook request as the endpoint saw it.
type received struct {
	body      []byte
	signature string
	header    http.Header
}

// receiver is a webhook endpoint that records what it gets and answers the statuses it is
// told to, in order (200 once they run out).
type receiver struct {
	t        *testing.T
	url      string
	mu       sync.Mutex
	got      []received
	statuses []int
	hold     chan struct{} // when set, requests wait for it to close
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	rc := &receiver{t: t, statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		hold := rc.hold
		rc.mu.Unlock()
		if hold != nil {
			<-hold
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{body: body, signature: r.Header.Get("Stripe-Signature"), header: r.Header.Clone()})
		status := http.StatusOK
		if len(rc.statuses) > 0 {
			status, rc.statuses = rc.statuses[0], rc.statuses[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks/stripe"
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// events verifies every request received with stripe-go, as taxflow's handler would, and
// returns the events.
func (rc *receiver) events(secret string) []stripe.Event {
	rc.t.Helper()
	var out []stripe.Event
	for _, r := range rc.requests() {
		ev, err := webhook.ConstructEvent(r.body, r.signature, secret)
		require.NoError(rc.t, err)
		out = append(out, ev)
	}
	return out
}

func eventTypes(evs []stripe.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, string(ev.Type))
	}
	return out
}

func (h *harness) flush() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, h.sim.FlushWebhooks(ctx))
}

// control calls a control endpoint with a JSON body.
func (h *harness) control(method, path string, body any) (int, []byte) {
	h.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		r = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, h.url+path, r)
	require.NoError(h.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp.StatusCode, b
}

// webhookHarness is a simulator whose every account sends its events to rc.
func webhookHarness(t *testing.T, rc *receiver, opts Options) *harness {
	opts.Webhooks = func(string) (string, string) { return rc.url, testSecret }
	if opts.WebhookRetryBackoff == 0 {
		opts.WebhookRetryBackoff = 5 * time.Millisecond
	}
	return newHarness(t, opts)
}

// Every event reaches the endpoint as Stripe's event JSON, signed the way Stripe signs, so
// stripe-go's webhook.ConstructEvent accepts it — and rejects it with another secret.
func TestWebhookSignatureVerifiesWithStripeGo(t *testing.T) {
	rc := newReceiver(t)
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	params := &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), AutoAdvance: stripe.Bool(false)}
	params.SetIdempotencyKey("create-1")
	inv, err := sc.V1Invoices.Create(h.ctx, params)
	require.NoError(t, err)
	h.addLines(sc, inv.ID, amountLine(10000, "fee"))
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	h.flush()

	reqs := rc.requests()
	evs := rc.events(testSecret)
	assert.Equal(t, []string{"customer.created", "invoice.created", "invoiceitem.created", "invoice.updated", "invoice.finalized"}, eventTypes(evs))
	created := evs[1]
	assert.Equal(t, "event", created.Object)
	assert.Equal(t, APIVersion, created.APIVersion)
	assert.False(t, created.Livemode)
	assert.Equal(t, int64(1), created.PendingWebhooks)
	assert.Equal(t, testStart.Unix(), created.Created, "created follows the simulated clock")
	assert.Equal(t, "create-1", created.Request.IdempotencyKey)
	assert.True(t, strings.HasPrefix(created.Request.ID, "req_"))
	var got stripe.Invoice
	require.NoError(t, json.Unmarshal(created.Data.Raw, &got))
	assert.Equal(t, inv.ID, got.ID)
	assert.Equal(t, stripe.InvoiceStatusDraft, got.Status)
	finalized := evs[4]
	require.NoError(t, json.Unmarshal(finalized.Data.Raw, &got))
	assert.Equal(t, stripe.InvoiceStatusOpen, got.Status)
	assert.Equal(t, int64(10000), got.AmountDue)

	// The raw shape, header and signature format.
	var raw map[string]any
	require.NoError(t, json.Unmarshal(reqs[1].body, &raw))
	for _, k := range []string{"id", "object", "api_version", "created", "type", "data", "livemode", "pending_webhooks", "request"} {
		assert.Contains(t, raw, k)
	}
	assert.Equal(t, "application/json; charset=utf-8", reqs[1].header.Get("Content-Type"))
	assert.Regexp(t, `^t=\d+,v1=[0-9a-f]{64}$`, reqs[1].signature)
	_, err = webhook.ConstructEvent(reqs[1].body, reqs[1].signature, "whsec_wrong")
	assert.ErrorIs(t, err, webhook.ErrNoValidSignature)
	_, err = webhook.ConstructEvent(append(reqs[1].body, ' '), reqs[1].signature, testSecret)
	assert.ErrorIs(t, err, webhook.ErrNoValidSignature)

	// Delivered events no longer count as pending.
	ev, err := sc.V1Events.Retrieve(h.ctx, created.ID, nil)
	require.NoError(t, err)
	assert.Zero(t, ev.PendingWebhooks)
}

// A delivery the endpoint refuses is retried with backoff until it is accepted; the
// delivery log shows every attempt, and the event stays pending until then.
func TestWebhooksAreRetriedUntilAccepted(t *testing.T) {
	rc := newReceiver(t, 500, 503)
	h := webhookHarness(t, rc, Options{WebhookRetryBackoff: 20 * time.Millisecond})
	sc := h.client(testKey)
	cus := h.customer(sc)
	h.flush()

	reqs := rc.requests()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, string(reqs[0].body), string(r.body), "every attempt sends the same event")
	}
	dels := h.sim.WebhookDeliveries()
	require.Len(t, dels, 1)
	d := dels[0]
	assert.Equal(t, WebhookDelivered, d.Status)
	assert.Equal(t, "customer.created", d.EventType)
	assert.Equal(t, "sk_test_****abcd", d.Account)
	require.Len(t, d.Attempts, 3)
	assert.Equal(t, []int{500, 503, 200}, []int{d.Attempts[0].StatusCode, d.Attempts[1].StatusCode, d.Attempts[2].StatusCode})
	assert.GreaterOrEqual(t, d.Attempts[1].At.Sub(d.Attempts[0].At), 20*time.Millisecond)
	assert.GreaterOrEqual(t, d.Attempts[2].At.Sub(d.Attempts[1].At), 40*time.Millisecond, "the backoff doubles")
	var ev stripe.Event
	require.NoError(t, json.Unmarshal(reqs[0].body, &ev))
	var obj stripe.Customer
	require.NoError(t, json.Unmarshal(ev.Data.Raw, &obj))
	assert.Equal(t, cus.ID, obj.ID)

	// The control endpoint shows the same log.
	code, body := h.control("GET", "/_sim/webhooks/deliveries?status=delivered", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(body), d.EventID)
}

// After Options.WebhookMaxAttempts failures a delivery is given up, the event stays
// pending, and the account's next events are still delivered, in order.
func TestWebhooksGiveUpAfterTheLastAttempt(t *testing.T) {
	rc := newReceiver(t, 500, 500, 500)
	h := webhookHarness(t, rc, Options{WebhookMaxAttempts: 3})
	sc := h.client(testKey)
	cus := h.customer(sc)
	h.flush()
	_, err := sc.V1Customers.Update(h.ctx, cus.ID, &stripe.CustomerUpdateParams{Name: stripe.String("Acme 2")})
	require.NoError(t, err)
	h.flush()

	dels := h.sim.WebhookDeliveries()
	require.Len(t, dels, 2)
	assert.Equal(t, WebhookFailed, dels[0].Status)
	assert.Len(t, dels[0].Attempts, 3)
	assert.Equal(t, WebhookDelivered, dels[1].Status)
	assert.Equal(t, "customer.updated", dels[1].EventType)
	ev, err := sc.V1Events.Retrieve(h.ctx, dels[0].EventID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1), ev.PendingWebhooks, "a failed delivery leaves the event pending")
}

// Each account sends its own events, in the order they happened, to its own endpoint,
// configured at run time with PUT /_sim/webhooks; events from before an endpoint existed are
// not sent, and enabled_events filters.
func TestWebhooksGoToEachAccountsEndpointInOrder(t *testing.T) {
	h := newHarness(t, Options{})
	a, b := newReceiver(t), newReceiver(t)
	const keyB = "sk_test_other_account_wxyz"
	early := h.client(testKey)
	h.customer(early) // before any endpoint: never sent

	code, body := h.control("PUT", "/_sim/webhooks", map[string]any{"account_key": testKey, "url": a.url, "secret": testSecret})
	require.Equal(t, http.StatusOK, code, string(body))
	assert.NotContains(t, string(body), testKey, "keys are shown redacted")
	assert.NotContains(t, string(body), testSecret, "secrets are shown redacted")
	code, _ = h.control("PUT", "/_sim/webhooks", map[string]any{
		"account_key": keyB, "url": b.url, "secret": "whsec_b", "enabled_events": []string{"invoice.*"},
	})
	require.Equal(t, http.StatusOK, code)
	code, body = h.control("PUT", "/_sim/webhooks", map[string]any{"account_key": keyB, "url": b.url, "secret": "not-a-secret"})
	assert.Equal(t, http.StatusBadRequest, code, string(body))

	scA, scB := h.client(testKey), h.client(keyB)
	cusA, cusB := h.customer(scA), h.customer(scB)
	var wantA []string
	for range 5 {
		inv := h.draft(scA, cusA.ID)
		wantA = append(wantA, inv.ID)
		h.draft(scB, cusB.ID)
	}
	h.flush()

	evsA := a.events(testSecret)
	require.Len(t, evsA, 6)
	assert.Equal(t, "customer.created", string(evsA[0].Type))
	var gotA []string
	for _, ev := range evsA[1:] {
		gotA = append(gotA, ev.Data.Object["id"].(string))
	}
	assert.Equal(t, wantA, gotA, "in order")
	evsB := b.events("whsec_b")
	assert.Equal(t, []string{"invoice.created", "invoice.created", "invoice.created", "invoice.created", "invoice.created"}, eventTypes(evsB),
		"only the enabled events, and only the account's own")

	// Removing the endpoint stops delivery.
	code, _ = h.control("PUT", "/_sim/webhooks", map[string]any{"account_key": testKey, "url": ""})
	require.Equal(t, http.StatusOK, code)
	h.draft(scA, cusA.ID)
	h.flush()
	assert.Len(t, a.requests(), 6)
}

// Delivery is asynchronous: an endpoint that hangs never slows the API down, and
// FlushWebhooks waits for it.
func TestWebhookDeliveryNeverBlocksTheAPI(t *testing.T) {
	rc := newReceiver(t)
	hold := make(chan struct{})
	rc.hold = hold
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)
	started := time.Now()
	cus := h.customer(sc)
	for range 3 {
		h.draft(sc, cus.ID)
	}
	assert.Less(t, time.Since(started), 2*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.Error(t, h.sim.FlushWebhooks(ctx), "deliveries are still pending")
	close(hold)
	h.flush()
	assert.Len(t, rc.requests(), 4)
}

// Reset drops queued deliveries and run-time endpoints; Close stops delivery for good.
func TestResetAndCloseStopDeliveries(t *testing.T) {
	rc := newReceiver(t)
	h := newHarness(t, Options{})
	require.NoError(t, h.sim.SetWebhookEndpoint("", WebhookEndpoint{URL: rc.url, Secret: testSecret}))
	assert.Len(t, h.sim.WebhookEndpoints(), 1)
	h.sim.Reset()
	assert.Empty(t, h.sim.WebhookEndpoints())
	h.customer(h.client(testKey))
	h.flush()
	assert.Empty(t, rc.requests())

	require.NoError(t, h.sim.SetWebhookEndpoint("", WebhookEndpoint{URL: rc.url, Secret: testSecret}))
	h.sim.Close()
	h.customer(h.client(testKey))
	h.flush()
	assert.Empty(t, rc.requests())
}

// Every invoice, payment, dispute and credit note event of the lifecycle reaches the
// endpoint, verifiable with stripe-go.
func TestEveryLifecycleEventIsDelivered(t *testing.T) {
	rc := newReceiver(t)
	h := webhookHarness(t, rc, Options{})
	sc := h.client(testKey)

	deleted := h.draft(sc, h.customer(sc).ID)
	_, err := sc.V1Invoices.Delete(h.ctx, deleted.ID, nil)
	require.NoError(t, err)
	nowhere, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Name: stripe.String("Nowhere")})
	require.NoError(t, err)
	noTax, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(nowhere.ID), AutomaticTax: &stripe.InvoiceCreateAutomaticTaxParams{Enabled: stripe.Bool(true)},
	})
	require.NoError(t, err)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, noTax.ID, nil)
	require.Error(t, err)
	bad := h.openInvoice(sc, 1000)
	_, err = sc.V1Invoices.MarkUncollectible(h.ctx, bad.ID, nil)
	require.NoError(t, err)
	_, err = sc.V1Invoices.VoidInvoice(h.ctx, bad.ID, nil)
	require.NoError(t, err)
	inv := h.openInvoice(sc, 5000)
	_, err = h.sim.FailInvoicePayment(inv.ID, "")
	require.NoError(t, err)
	_, err = h.sim.PayInvoice(inv.ID)
	require.NoError(t, err)
	d, err := h.sim.OpenDispute(inv.ID, "")
	require.NoError(t, err)
	_, err = h.sim.CloseDispute(d.ID, "won")
	require.NoError(t, err)
	cn, err := sc.V1CreditNotes.Create(h.ctx, &stripe.CreditNoteCreateParams{Invoice: stripe.String(inv.ID),
		OutOfBandAmount: stripe.Int64(100), Lines: []*stripe.CreditNoteCreateLineParams{customCredit(100, "Goodwill")}})
	require.NoError(t, err)
	_, err = sc.V1CreditNotes.VoidCreditNote(h.ctx, cn.ID, nil)
	require.NoError(t, err)
	h.flush()

	assert.Subset(t, eventTypes(rc.events(testSecret)), []string{
		"invoice.created", "invoice.updated", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded",
		"invoice.payment_failed", "invoice.marked_uncollectible", "invoice.voided", "invoice.deleted",
		"invoice.finalization_failed", "credit_note.created", "credit_note.voided",
		"charge.dispute.created", "charge.dispute.closed",
	})
}
