package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/workflows"
)

var devServer *testsuite.DevServer

// TestMain starts one Temporal dev server (bin/temporal) for the package's tests.
func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ds, err := testenv.StartTemporal(ctx, nil)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "alerts:", err)
		os.Exit(1)
	}
	devServer = ds
	code := m.Run()
	_ = ds.Stop()
	os.Exit(code)
}

// signedReceiver verifies every request's signature and answers with its script (the last
// status repeats); it keeps the verified bodies.
type signedReceiver struct {
	secret   string
	mu       sync.Mutex
	statuses []int
	got      []alerts.Payload
	bad      []error
	srv      *httptest.Server
	arrived  chan struct{}
}

func newSignedReceiver(t *testing.T, secret string, statuses ...int) *signedReceiver {
	r := &signedReceiver{secret: secret, statuses: statuses, arrived: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := alerts.Verify(body, req.Header.Get(alerts.HeaderSignature), r.secret, alerts.DefaultTolerance, time.Now()); err != nil {
			r.bad = append(r.bad, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		status := r.statuses[0]
		if len(r.statuses) > 1 {
			r.statuses = r.statuses[1:]
		}
		if status < 300 {
			var p alerts.Payload
			if err := json.Unmarshal(body, &p); err != nil || p.ID != req.Header.Get(alerts.HeaderEventID) {
				r.bad = append(r.bad, fmt.Errorf("payload %s: %v", body, err))
			}
			r.got = append(r.got, p)
		}
		w.WriteHeader(status)
		r.arrived <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *signedReceiver) payloads() ([]alerts.Payload, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerts.Payload(nil), r.got...), append([]error(nil), r.bad...)
}

type realStack struct {
	store    *store.Store
	temporal client.Client
	queue    string
}

// newRealStack runs a real worker (RegisterAlerts) and a dispatcher against the dev server.
func newRealStack(t *testing.T) (*realStack, func(id, url, secret string, events ...string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, keys := testenv.SecretKey(t)
	tc := devServer.Client()
	queue := "alerts-" + testenv.RandomHex(4)
	w := worker.New(tc, queue, worker.Options{})
	workflows.RegisterAlerts(w, &activities.AlertActivities{Store: st, Secrets: keys, HTTPClient: &http.Client{Timeout: 10 * time.Second}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	d := &alerts.Dispatcher{Store: st, Temporal: tc, TaskQueue: queue, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Interval: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	put := func(id, url, secret string, events ...string) {
		sealed, err := keys.Seal(secret, activities.WebhookSecretPlace(id))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpsertWebhookEndpoint(ctx, sqldb.UpsertWebhookEndpointParams{ID: id, Url: url, SecretSealed: sealed, Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	return &realStack{store: st, temporal: tc, queue: queue}, put
}

func (s *realStack) emit(t *testing.T, e alerts.Event) {
	t.Helper()
	if err := s.store.InTx(context.Background(), func(q *sqldb.Queries) error { return alerts.Emit(context.Background(), q, e) }); err != nil {
		t.Fatal(err)
	}
}

func (s *realStack) result(t *testing.T, eventID, endpointID string) workflows.DeliveryResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.DeliveryResult
	// The dispatcher starts it within its interval.
	for {
		err := s.temporal.GetWorkflow(ctx, alerts.DeliveryWorkflowID(eventID, endpointID), "").Get(ctx, &res)
		if err == nil {
			return res
		}
		if ctx.Err() != nil {
			t.Fatalf("delivery workflow of %s to %s: %v", eventID, endpointID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEmittedEventReachesTheSubscribedEndpointSignedThroughARealWorker(t *testing.T) {
	s, put := newRealStack(t)
	rcv := newSignedReceiver(t, "ops-secret-0123456789abcdef", http.StatusOK)
	put("ops", rcv.srv.URL, "ops-secret-0123456789abcdef", string(alerts.InvoiceFailed))
	put("payments", rcv.srv.URL, "payments-secret-0123456789", string(alerts.InvoicePaid))

	s.emit(t, alerts.Event{ID: "evt_real1", Type: alerts.InvoiceFailed, InvoiceID: "inv_1", CustomerID: "cust_1", Step: "check", Code: "customer_address_missing", Message: "no address"})
	res := s.result(t, "evt_real1", "ops")
	if res.Status != "delivered" || res.StatusCode != 200 {
		t.Fatalf("result %+v", res)
	}
	got, bad := rcv.payloads()
	if len(bad) != 0 || len(got) != 1 {
		t.Fatalf("received %+v, refused %v", got, bad)
	}
	p := got[0]
	if p.ID != "evt_real1" || p.Type != alerts.InvoiceFailed || p.Data["invoice_id"] != "inv_1" || p.Data["customer_id"] != "cust_1" ||
		p.Data["step"] != "check" || p.Data["code"] != "customer_address_missing" {
		t.Fatalf("payload %+v", p)
	}
	d, err := s.store.GetWebhookDelivery(context.Background(), sqldb.GetWebhookDeliveryParams{EventID: "evt_real1", EndpointID: "ops"})
	if err != nil || d.Status != "delivered" || d.Attempts != 1 || d.DeliveredAt == nil {
		t.Fatalf("delivery %+v, %v", d, err)
	}
	// Not subscribed: nothing started for "payments".
	if _, err := s.temporal.DescribeWorkflowExecution(context.Background(), alerts.DeliveryWorkflowID("evt_real1", "payments"), ""); err == nil {
		t.Fatal("a delivery started for an endpoint not subscribed to the type")
	}
	// Starting the same delivery again (a dispatcher that crashed before marking) sends nothing.
	starter := alerts.TemporalStarter{Client: s.temporal, TaskQueue: s.queue}
	if err := starter.StartDelivery(context.Background(), alerts.DeliveryInput{EventID: "evt_real1", EndpointID: "ops"}, "invoice.failed"); err != nil {
		t.Fatalf("second start: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if got, _ := rcv.payloads(); len(got) != 1 {
		t.Fatalf("sent %d times", len(got))
	}
}

func TestRejectedDeliveryIsRetriedByTheServerUntilAccepted(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s first retry")
	}
	s, put := newRealStack(t)
	rcv := newSignedReceiver(t, "ops-secret-0123456789abcdef", http.StatusServiceUnavailable, http.StatusAccepted)
	put("ops", rcv.srv.URL, "ops-secret-0123456789abcdef", alerts.AllEvents)
	s.emit(t, alerts.Event{ID: "evt_real2", Type: alerts.InvoiceTaxMissingAtDeadline, InvoiceID: "inv_2"})
	res := s.result(t, "evt_real2", "ops")
	if res.Status != "delivered" || res.StatusCode != 202 {
		t.Fatalf("result %+v", res)
	}
	d, err := s.store.GetWebhookDelivery(context.Background(), sqldb.GetWebhookDeliveryParams{EventID: "evt_real2", EndpointID: "ops"})
	if err != nil || d.Status != "delivered" || d.Attempts != 2 {
		t.Fatalf("delivery %+v, %v", d, err)
	}
}
