package activities

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/testenv"
)

const hookSecret = "endpoint-secret-0123456789"

var clock = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type alertFixture struct {
	t     *testing.T
	store *store.Store
	keys  *secretbox.Keyring
	acts  *AlertActivities
	in    alerts.DeliveryInput
	body  string
}

// receiver is an endpoint: it answers with the next status of its script (the last one
// repeats) and keeps what it received.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	header   http.Header
	requests []receivedRequest
	srv      *httptest.Server
}

type receivedRequest struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses, header: http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, receivedRequest{req.Header.Clone(), body})
		status := r.statuses[0]
		if len(r.statuses) > 1 {
			r.statuses = r.statuses[1:]
		}
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		if status >= 300 {
			_, _ = w.Write([]byte("boom\n\x00 details"))
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.requests...)
}

func newAlertFixture(t *testing.T, url string) *alertFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, keys := testenv.SecretKey(t)
	f := &alertFixture{t: t, store: st, keys: keys,
		acts: &AlertActivities{Store: st, Secrets: keys, Now: func() time.Time { return clock }},
		in:   alerts.DeliveryInput{EventID: "evt_1", EndpointID: "ops"},
	}
	f.putEndpoint(url, hookSecret, WebhookSecretPlace("ops"))
	if err := st.InTx(ctx, func(q *sqldb.Queries) error {
		return alerts.Emit(ctx, q, alerts.Event{ID: "evt_1", Type: alerts.InvoiceFailed, InvoiceID: "inv_1", CustomerID: "cust_1", Step: "tax", Code: "tax_timeout", Message: "no tax"})
	}); err != nil {
		t.Fatal(err)
	}
	ev, err := st.GetOutgoingEvent(ctx, "evt_1")
	if err != nil {
		t.Fatal(err)
	}
	f.body = ev.Body
	return f
}

func (f *alertFixture) putEndpoint(url, secret, place string) {
	f.t.Helper()
	sealed, err := f.keys.Seal(secret, place)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.UpsertWebhookEndpoint(context.Background(), sqldb.UpsertWebhookEndpointParams{
		ID: "ops", Url: url, SecretSealed: sealed, Events: []string{"*"},
	}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *alertFixture) delivery() sqldb.WebhookDelivery {
	f.t.Helper()
	d, err := f.store.GetWebhookDelivery(context.Background(), sqldb.GetWebhookDeliveryParams{EventID: "evt_1", EndpointID: "ops"})
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// retryable asserts err is an application error Temporal retries, of the given type.
func retryable(t *testing.T, err error, errType string) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || app.NonRetryable() || app.Type() != errType {
		t.Fatalf("error %v, want a retryable %s", err, errType)
	}
	return app
}

func TestDeliveryIsSignedSoTheReceiverVerifiesItWithTheEndpointSecret(t *testing.T) {
	rcv := newReceiver(t, http.StatusNoContent)
	f := newAlertFixture(t, rcv.srv.URL+"/hooks/taxflow")

	// Through Temporal's activity environment: the struct registers as activities.
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	v, err := env.ExecuteActivity(f.acts.DeliverWebhook, f.in)
	if err != nil {
		t.Fatal(err)
	}
	var res DeliverWebhookResult
	if err := v.Get(&res); err != nil || res != (DeliverWebhookResult{Status: DeliveryDelivered, StatusCode: 204}) {
		t.Fatalf("result %+v, %v", res, err)
	}

	got := rcv.received()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	r := got[0]
	if err := alerts.Verify(r.body, r.header.Get("Taxflow-Signature"), hookSecret, alerts.DefaultTolerance, clock.Add(time.Minute)); err != nil {
		t.Fatalf("signature does not verify: %v (header %q)", err, r.header.Get("Taxflow-Signature"))
	}
	if err := alerts.Verify(r.body, r.header.Get("Taxflow-Signature"), "another-secret-0123456789", alerts.DefaultTolerance, clock); !errors.Is(err, alerts.ErrBadSignature) {
		t.Fatalf("verified with another secret: %v", err)
	}
	if string(r.body) != f.body || r.header.Get("Content-Type") != "application/json" || r.header.Get("Taxflow-Event-Id") != "evt_1" {
		t.Fatalf("request headers %v body %s", r.header, r.body)
	}
	d := f.delivery()
	if d.Status != DeliveryDelivered || d.Attempts != 1 || d.DeliveredAt == nil || !d.DeliveredAt.Equal(clock) || *d.LastStatusCode != 204 || d.LastError != nil {
		t.Fatalf("delivery %+v", d)
	}
}

func TestNon2xxAnswerIsRetriedAndEveryAttemptRecorded(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	ctx := context.Background()

	_, err := f.acts.DeliverWebhook(ctx, f.in)
	retryable(t, err, ErrTypeWebhookRejected)
	d := f.delivery()
	if d.Status != DeliveryPending || d.Attempts != 1 || *d.LastStatusCode != 500 || *d.LastError != "the endpoint answered HTTP 500: boom details" || d.DeliveredAt != nil {
		t.Fatalf("after a 500: %+v (last_error %q)", d, *d.LastError)
	}

	res, err := f.acts.DeliverWebhook(ctx, f.in)
	if err != nil || res.Status != DeliveryDelivered {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	d = f.delivery()
	if d.Status != DeliveryDelivered || d.Attempts != 2 || *d.LastStatusCode != 200 || d.LastError != nil {
		t.Fatalf("after the retry: %+v", d)
	}
	// Every attempt sends the same body, signed afresh.
	got := rcv.received()
	if len(got) != 2 || string(got[0].body) != string(got[1].body) {
		t.Fatalf("requests %d", len(got))
	}
}

func TestDeliveredEventIsNotSentAgain(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	for range 2 {
		if res, err := f.acts.DeliverWebhook(context.Background(), f.in); err != nil || res.Status != DeliveryDelivered {
			t.Fatalf("%+v, %v", res, err)
		}
	}
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestRedirectIsARetryableFailureNotFollowed(t *testing.T) {
	target := newReceiver(t, http.StatusOK)
	rcv := newReceiver(t, http.StatusFound)
	rcv.header.Set("Location", target.srv.URL)
	f := newAlertFixture(t, rcv.srv.URL)
	_, err := f.acts.DeliverWebhook(context.Background(), f.in)
	retryable(t, err, ErrTypeWebhookRejected)
	if n := len(target.received()); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
}

func TestUnreachableEndpointIsRetried(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	url := rcv.srv.URL
	rcv.srv.Close()
	f := newAlertFixture(t, url+"/hook?token=private")
	_, err := f.acts.DeliverWebhook(context.Background(), f.in)
	app := retryable(t, err, ErrTypeWebhookUnreachable)
	d := f.delivery()
	if d.Status != DeliveryPending || d.Attempts != 1 || d.LastStatusCode != nil {
		t.Fatalf("%+v", d)
	}
	for _, s := range []string{app.Message(), *d.LastError} {
		if strings.Contains(s, "private") {
			t.Fatalf("the URL leaked into the error: %s", s)
		}
	}
}

func TestRetryAfterOfTheEndpointSetsTheNextAttempt(t *testing.T) {
	rcv := newReceiver(t, http.StatusTooManyRequests)
	rcv.header.Set("Retry-After", "120")
	f := newAlertFixture(t, rcv.srv.URL)
	_, err := f.acts.DeliverWebhook(context.Background(), f.in)
	if app := retryable(t, err, ErrTypeWebhookRejected); app.NextRetryDelay() != 2*time.Minute {
		t.Fatalf("next retry in %s, want 2m", app.NextRetryDelay())
	}
}

func TestDeliveryToADeletedEndpointIsCanceledQuietly(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	if _, err := f.store.DeleteWebhookEndpoint(context.Background(), "ops"); err != nil {
		t.Fatal(err)
	}
	res, err := f.acts.DeliverWebhook(context.Background(), f.in)
	if err != nil || res.Status != DeliveryCanceled {
		t.Fatalf("%+v, %v", res, err)
	}
	if d := f.delivery(); d.Status != DeliveryCanceled || len(rcv.received()) != 0 {
		t.Fatalf("%+v", d)
	}
}

func TestSecretSealedForAnotherPlaceDoesNotOpen(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	f.putEndpoint(rcv.srv.URL, hookSecret, WebhookSecretPlace("other"))
	_, err := f.acts.DeliverWebhook(context.Background(), f.in)
	retryable(t, err, ErrTypeWebhookSecretUnreadable)
	if len(rcv.received()) != 0 {
		t.Fatal("sent without a secret")
	}
}

func TestMissingEventIsNotRetried(t *testing.T) {
	rcv := newReceiver(t, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	_, err := f.acts.DeliverWebhook(context.Background(), alerts.DeliveryInput{EventID: "evt_none", EndpointID: "ops"})
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || app.Type() != ErrTypeWebhookEventMissing {
		t.Fatalf("got %v", err)
	}
}

func TestEndWebhookDeliveryMarksFailedButNeverUndoesADelivery(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable, http.StatusOK)
	f := newAlertFixture(t, rcv.srv.URL)
	ctx := context.Background()
	_, _ = f.acts.DeliverWebhook(ctx, f.in)
	if err := f.acts.EndWebhookDelivery(ctx, EndWebhookDeliveryInput{EventID: "evt_1", EndpointID: "ops", Status: DeliveryFailed, Reason: "gave up"}); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(); d.Status != DeliveryFailed || *d.LastError != "gave up" || d.Attempts != 1 {
		t.Fatalf("%+v", d)
	}
	// A delivered one stays delivered.
	if err := f.store.EndWebhookDelivery(ctx, sqldb.EndWebhookDeliveryParams{EventID: "evt_1", EndpointID: "ops", Status: DeliveryPending}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.DeliverWebhook(ctx, f.in); err != nil {
		t.Fatal(err)
	}
	if err := f.acts.EndWebhookDelivery(ctx, EndWebhookDeliveryInput{EventID: "evt_1", EndpointID: "ops", Status: DeliveryFailed}); err != nil {
		t.Fatal(err)
	}
	if d := f.delivery(); d.Status != DeliveryDelivered {
		t.Fatalf("%+v", d)
	}
	if err := f.acts.EndWebhookDelivery(ctx, EndWebhookDeliveryInput{EventID: "evt_1", EndpointID: "ops", Status: "delivered"}); err == nil {
		t.Fatal("EndWebhookDelivery accepted status delivered")
	}
}
