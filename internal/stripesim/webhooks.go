package stripesim

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// Webhook delivery, the way Stripe delivers to a webhook endpoint:
//   - every event an account records is sent to the account's endpoint, if it has one when
//     the event happens (events from before an endpoint was configured are never sent);
//   - the body is the event JSON exactly as GET /v1/events/{id} answers it at that moment;
//   - the Stripe-Signature header is "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"
//     keyed with the endpoint's whsec_ secret>", so webhook.ConstructEvent verifies it. t is
//     the wall-clock time of the attempt (each retry is signed afresh, as Stripe does), never
//     the simulated clock: receivers check it against their own clock;
//   - delivery is asynchronous and never slows the API request that caused the event;
//   - events of one account are delivered one at a time, in the order they happened: a
//     delivery is retried until it succeeds or runs out of attempts before the next one starts;
//   - any 2xx answer is a success; anything else (3xx included: redirects are not followed,
//     a timeout, a refused connection) is retried after a backoff that doubles each time,
//     up to Options.WebhookMaxAttempts attempts in all.
//
// Stripe itself retries for three days and does not promise order; the simulator trades that
// for determinism, so tests can wait for a known sequence with FlushWebhooks.

// Webhook delivery defaults.
const (
	DefaultWebhookMaxAttempts  = 5
	DefaultWebhookRetryBackoff = time.Second
	DefaultWebhookTimeout      = 10 * time.Second
	DefaultWebhookLogSize      = 10000
	// maxWebhookBackoff caps the doubling backoff.
	maxWebhookBackoff = 5 * time.Minute
)

// Delivery statuses in the delivery log.
const (
	WebhookPending   = "pending"   // queued, being attempted, or waiting to be retried
	WebhookDelivered = "delivered" // the endpoint answered 2xx
	WebhookFailed    = "failed"    // every attempt failed
	WebhookCanceled  = "canceled"  // dropped by Reset or Close before it succeeded
)

// WebhookEndpoint is where an account's events go.
type WebhookEndpoint struct {
	// URL receives the events by POST; it must be an absolute http or https URL.
	URL string `json:"url"`
	// Secret signs them; Stripe's signing secrets start with whsec_.
	Secret string `json:"secret"`
	// EnabledEvents limits the event types sent, like a Stripe endpoint's enabled_events:
	// exact types or "invoice.*" patterns. Empty (or "*") sends every event.
	EnabledEvents []string `json:"enabled_events,omitempty"`
}

// Validate checks an endpoint the way Stripe checks one being created.
func (ep WebhookEndpoint) Validate() error {
	u, err := url.Parse(ep.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook url must be an absolute http or https URL, got %q", ep.URL)
	}
	if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) == len("whsec_") {
		return errors.New("webhook secret must be a signing secret starting with whsec_")
	}
	return nil
}

// WebhookDelivery is one event's delivery to one endpoint, as the delivery log shows it.
type WebhookDelivery struct {
	ID string `json:"id"`
	// Account is the owning account's API key, redacted to its last four characters.
	Account   string           `json:"account"`
	EventID   string           `json:"event_id"`
	EventType string           `json:"event_type"`
	URL       string           `json:"url"`
	Status    string           `json:"status"`
	Attempts  []WebhookAttempt `json:"attempts"`
	// NextAttemptAt is the wall-clock time of the next retry, while one is scheduled.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// WebhookAttempt is one POST of a delivery.
type WebhookAttempt struct {
	At time.Time `json:"at"`
	// StatusCode is the endpoint's HTTP status; 0 when there was no answer.
	StatusCode int `json:"status_code,omitempty"`
	// Error says why there was no answer (timeout, refused connection).
	Error    string   `json:"error,omitempty"`
	Duration Duration `json:"duration"`
}

// delivery is a queued or finished delivery; its exported view is WebhookDelivery.
type delivery struct {
	view    WebhookDelivery
	ev      *event
	secret  string
	payload []byte
}

// webhookQueue is one account's deliveries, in event order. One goroutine at most works on
// it, started when the queue gets work and ending when it is empty.
type webhookQueue struct {
	items   []*delivery
	running bool
}

type webhookDispatcher struct {
	s           *Server
	fromOptions func(accountKey string) (url, secret string)
	maxAttempts int
	backoff     time.Duration
	timeout     time.Duration
	client      *http.Client

	base   context.Context // cancelled by Close: aborts attempts in flight
	cancel context.CancelFunc

	mu          sync.Mutex
	defaultEP   *WebhookEndpoint            // SetWebhookEndpoint("", ...): every account
	endpoints   map[string]*WebhookEndpoint // SetWebhookEndpoint(key, ...), by API key
	queues      map[string]*webhookQueue    // by API key
	pending     int                         // deliveries queued or in flight
	drained     chan struct{}               // closed whenever pending drops to 0
	interrupted chan struct{}               // closed by Reset and Close: abandon retries
	closed      bool
	log         []*delivery // the newest logSize deliveries, oldest first
	logSize     int
}

func newWebhookDispatcher(s *Server, opts Options) *webhookDispatcher {
	d := &webhookDispatcher{
		s: s, fromOptions: opts.Webhooks,
		maxAttempts: opts.WebhookMaxAttempts, backoff: opts.WebhookRetryBackoff, timeout: opts.WebhookTimeout,
		client: opts.WebhookHTTPClient, logSize: opts.WebhookLogSize,
		endpoints: map[string]*WebhookEndpoint{}, queues: map[string]*webhookQueue{},
		drained: make(chan struct{}), interrupted: make(chan struct{}),
	}
	if d.maxAttempts <= 0 {
		d.maxAttempts = DefaultWebhookMaxAttempts
	}
	if d.backoff <= 0 {
		d.backoff = DefaultWebhookRetryBackoff
	}
	if d.timeout <= 0 {
		d.timeout = DefaultWebhookTimeout
	}
	if d.logSize <= 0 {
		d.logSize = DefaultWebhookLogSize
	}
	if d.client == nil {
		d.client = &http.Client{
			// A redirect is a failed delivery for Stripe: it does not follow them.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	d.base, d.cancel = context.WithCancel(context.Background())
	return d
}

// endpointFor resolves an account's endpoint: its own (SetWebhookEndpoint with its key), then
// the one for every account (SetWebhookEndpoint with ""), then Options.Webhooks.
func (d *webhookDispatcher) endpointFor(key string) (WebhookEndpoint, bool) {
	d.mu.Lock()
	ep, ok := d.endpoints[key]
	if !ok {
		ep = d.defaultEP
	}
	d.mu.Unlock()
	if ep != nil {
		return *ep, true
	}
	if d.fromOptions != nil {
		u, secret := d.fromOptions(key)
		if u != "" {
			return WebhookEndpoint{URL: u, Secret: secret}, true
		}
	}
	return WebhookEndpoint{}, false
}

// enqueue queues an event for the account's endpoint. It runs with the account locked, right
// after the event is recorded, so queue order is event order; it never blocks on delivery.
func (d *webhookDispatcher) enqueue(acct *account, ev *event) {
	ep, ok := d.endpointFor(acct.key)
	if !ok || !eventEnabled(ev.typ, ep.EnabledEvents) {
		return
	}
	ev.pending.Store(1)
	del := &delivery{
		view: WebhookDelivery{
			ID: d.s.ids.next1("whdel"), Account: acct.label, EventID: ev.id, EventType: ev.typ, URL: ep.URL,
			Status: WebhookPending, Attempts: []WebhookAttempt{},
		},
		ev: ev, secret: ep.Secret, payload: mustJSON(renderEvent(ev)),
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		ev.pending.Store(0)
		return
	}
	q := d.queues[acct.key]
	if q == nil {
		q = &webhookQueue{}
		d.queues[acct.key] = q
	}
	q.items = append(q.items, del)
	d.pending++
	d.log = append(d.log, del)
	if len(d.log) > d.logSize {
		d.log = append([]*delivery(nil), d.log[len(d.log)-d.logSize:]...)
	}
	if !q.running {
		q.running = true
		go d.work(q)
	}
}

// eventEnabled applies an endpoint's enabled_events.
func eventEnabled(typ string, enabled []string) bool {
	if len(enabled) == 0 {
		return true
	}
	for _, p := range enabled {
		if p == "*" || matchesEventType(typ, p, nil) {
			return true
		}
	}
	return false
}

// work delivers a queue's events one after the other until the queue is empty.
func (d *webhookDispatcher) work(q *webhookQueue) {
	for {
		d.mu.Lock()
		if len(q.items) == 0 || d.closed {
			q.running = false
			d.mu.Unlock()
			return
		}
		del := q.items[0]
		q.items = q.items[1:]
		interrupted := d.interrupted
		d.mu.Unlock()

		d.deliver(del, interrupted)

		d.mu.Lock()
		d.done(1)
		d.mu.Unlock()
	}
}

// done accounts for n deliveries that left the queue for good; d.mu is held.
func (d *webhookDispatcher) done(n int) {
	d.pending -= n
	if d.pending == 0 && n > 0 {
		close(d.drained)
		d.drained = make(chan struct{})
	}
}

// deliver attempts one delivery until it succeeds, runs out of attempts or is interrupted.
func (d *webhookDispatcher) deliver(del *delivery, interrupted <-chan struct{}) {
	for attempt := 1; ; attempt++ {
		at, status, errText := d.post(del)
		ok := status >= 200 && status < 300
		d.s.logger.Info("stripe webhook", "account", del.view.Account, "event", del.view.EventID,
			"type", del.view.EventType, "attempt", attempt, "status", status, "error", errText, "delivered", ok)

		d.mu.Lock()
		del.view.Attempts = append(del.view.Attempts, WebhookAttempt{
			At: at, StatusCode: status, Error: errText, Duration: Duration(time.Since(at)),
		})
		del.view.NextAttemptAt = nil
		var wait time.Duration
		switch {
		case ok:
			del.view.Status = WebhookDelivered
			del.ev.pending.Store(0)
		case attempt >= d.maxAttempts:
			del.view.Status = WebhookFailed
		default:
			wait = min(d.backoff<<(attempt-1), maxWebhookBackoff)
			next := time.Now().Add(wait)
			del.view.NextAttemptAt = &next
		}
		d.mu.Unlock()
		if wait == 0 {
			return
		}

		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-interrupted:
			timer.Stop()
			d.mu.Lock()
			del.view.Status, del.view.NextAttemptAt = WebhookCanceled, nil
			d.mu.Unlock()
			return
		}
	}
}

// post sends one attempt and reports when it started, the HTTP status (0 without an answer)
// and why there was no answer.
func (d *webhookDispatcher) post(del *delivery) (time.Time, int, string) {
	at := time.Now()
	ctx, cancel := context.WithTimeout(d.base, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, del.view.URL, bytes.NewReader(del.payload))
	if err != nil {
		return at, 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Stripe-Signature", SignWebhookPayload(del.payload, del.secret, at))
	resp, err := d.client.Do(req)
	if err != nil {
		return at, 0, err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return at, resp.StatusCode, ""
}

// SignWebhookPayload computes the Stripe-Signature header Stripe sends with a payload:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the secret>".
func SignWebhookPayload(payload []byte, secret string, at time.Time) string {
	return "t=" + strconv.FormatInt(at.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(at, payload, secret))
}

// reset drops queued deliveries, endpoints set at run time and the delivery log; an attempt
// in flight finishes but is not retried.
func (d *webhookDispatcher) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dropQueued()
	d.defaultEP, d.endpoints, d.log = nil, map[string]*WebhookEndpoint{}, nil
}

// dropQueued cancels every queued delivery and interrupts retries; d.mu is held.
func (d *webhookDispatcher) dropQueued() {
	n := 0
	for _, q := range d.queues {
		for _, del := range q.items {
			del.view.Status = WebhookCanceled
		}
		n += len(q.items)
		q.items = nil
	}
	d.done(n)
	close(d.interrupted)
	d.interrupted = make(chan struct{})
}

func (d *webhookDispatcher) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		d.dropQueued()
	}
	d.mu.Unlock()
	d.cancel()
}

// SetWebhookEndpoint sets the endpoint of the account whose secret key is accountKey, or,
// with accountKey "", of every account that has none of its own. It takes precedence over
// Options.Webhooks. An endpoint with an empty URL removes the setting instead.
func (s *Server) SetWebhookEndpoint(accountKey string, ep WebhookEndpoint) error {
	d := s.webhooks
	if ep.URL == "" {
		d.mu.Lock()
		if accountKey == "" {
			d.defaultEP = nil
		} else {
			delete(d.endpoints, accountKey)
		}
		d.mu.Unlock()
		return nil
	}
	if err := ep.Validate(); err != nil {
		return err
	}
	ep.EnabledEvents = append([]string(nil), ep.EnabledEvents...)
	d.mu.Lock()
	if accountKey == "" {
		d.defaultEP = &ep
	} else {
		d.endpoints[accountKey] = &ep
	}
	d.mu.Unlock()
	return nil
}

// WebhookEndpointView is a configured endpoint with its key and secret redacted, as
// GET /_sim/webhooks shows it.
type WebhookEndpointView struct {
	// Account is the account's key redacted (sk_test_****abcd); "*" for every account.
	Account       string   `json:"account"`
	URL           string   `json:"url"`
	Secret        string   `json:"secret"`
	EnabledEvents []string `json:"enabled_events,omitempty"`
}

// WebhookEndpoints lists the endpoints set with SetWebhookEndpoint (or PUT /_sim/webhooks),
// the one for every account first. Options.Webhooks is a function and is not listed.
func (s *Server) WebhookEndpoints() []WebhookEndpointView {
	d := s.webhooks
	d.mu.Lock()
	defer d.mu.Unlock()
	view := func(account string, ep *WebhookEndpoint) WebhookEndpointView {
		return WebhookEndpointView{Account: account, URL: ep.URL, Secret: RedactKey(ep.Secret), EnabledEvents: ep.EnabledEvents}
	}
	out := []WebhookEndpointView{}
	if d.defaultEP != nil {
		out = append(out, view("*", d.defaultEP))
	}
	for key, ep := range d.endpoints {
		out = append(out, view(RedactKey(key), ep))
	}
	return out
}

// WebhookDeliveries returns the delivery log, oldest first (at most Options.WebhookLogSize).
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	d := s.webhooks
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]WebhookDelivery, 0, len(d.log))
	for _, del := range d.log {
		v := del.view
		v.Attempts = append([]WebhookAttempt(nil), v.Attempts...)
		out = append(out, v)
	}
	return out
}

// FlushWebhooks waits until no delivery is queued or being attempted — every delivery has
// succeeded, failed for good or been cancelled — or until ctx ends. Retries are waited for
// with their backoff, so tests use a short Options.WebhookRetryBackoff.
func (s *Server) FlushWebhooks(ctx context.Context) error {
	d := s.webhooks
	for {
		d.mu.Lock()
		if d.pending == 0 {
			d.mu.Unlock()
			return nil
		}
		drained := d.drained
		d.mu.Unlock()
		select {
		case <-drained:
		case <-ctx.Done():
			return fmt.Errorf("stripesim: webhooks still pending: %w", ctx.Err())
		}
	}
}
