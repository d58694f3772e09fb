// Package e2e runs taxflow end to end on the real stack: a Temporal dev server (bin/temporal),
// PostgreSQL, the Anrok and Stripe simulators over HTTP, the real providers, the worker and
// the starter API. Results are checked in the simulators' own state, not only taxflow's.
package e2e

import (
	"bytes"
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

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/app"
	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/stripesim"
	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/starter/api"
	"github.com/taxflow/taxflow/workflows"
)

var devServer *testsuite.DevServer

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ds, err := testenv.StartTemporal(ctx, nil)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	devServer = ds
	code := m.Run()
	_ = ds.Stop()
	os.Exit(code)
}

const token = "e2e-token-0123456789abcdef"

type stack struct {
	t         *testing.T
	api       *httptest.Server
	store     *store.Store
	anrok     *anroksim.Server
	anrokURL  string
	stripe    *stripesim.Server
	stripeURL string
	temporal  client.Client
	opts      demo.Options
	logs      *logBuffer
	invoices  workflows.Client
	codec     *codec.Codec
	metrics   *metrics.Metrics
	cfg       config.Config
	mu        sync.Mutex // guards api, read by the Stripe simulator's deliveries
}

// stackOption adjusts the simulators of a stack.
type stackOption func(*stackConfig)

type stackConfig struct {
	anrok  anroksim.Options
	stripe stripesim.Options
	// watchPeriod is how long finalized invoices are watched (0: the default).
	watchPeriod time.Duration
	// continueEvery: events a watching workflow handles before continuing as new (0: default).
	continueEvery int
	// noWorker: the test runs its own worker processes (stack.workerEnv configures them).
	noWorker bool
}

func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	var sc stackConfig
	for _, o := range opts {
		o(&sc)
	}
	ctx := context.Background()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	secret, keys := testenv.SecretKey(t)
	cfg := config.Config{DatabaseURL: testenv.NewDatabase(t), TaxWait: time.Hour, SecretKeys: secret}
	st, err := store.Open(ctx, cfg.DatabaseURL, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)

	s := &stack{t: t, store: st, logs: logs}
	s.anrok = anroksim.New(sc.anrok)
	anrokSrv := httptest.NewServer(s.anrok)
	t.Cleanup(anrokSrv.Close)
	// Stripe delivers its webhooks, signed, to the starter's endpoint for the demo account.
	webhookSecret := "whsec_e2e_" + testenv.RandomHex(8)
	if sc.stripe.Webhooks == nil {
		sc.stripe.Webhooks = func(string) (string, string) {
			return s.apiURL() + "/v1/webhooks/stripe/" + demo.StripeAccountID, webhookSecret
		}
	}
	if sc.stripe.AutomaticTaxProvider == "" {
		sc.stripe.AutomaticTaxProvider = "anrok" // the account has the Anrok Stripe app installed
	}
	if sc.stripe.WebhookRetryBackoff == 0 {
		sc.stripe.WebhookRetryBackoff = 100 * time.Millisecond
	}
	s.stripe = stripesim.New(sc.stripe)
	t.Cleanup(s.stripe.Close)
	stripeSrv := httptest.NewServer(s.stripe)
	t.Cleanup(stripeSrv.Close)
	s.anrokURL, s.stripeURL = anrokSrv.URL, stripeSrv.URL

	codecKey, _ := testenv.SecretKey(t)
	cfg.CodecKeys = codecKey
	s.codec, err = codec.FromEnv(codecKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TemporalAddress, cfg.TemporalNamespace = devServer.FrontendHostPort(), "default"
	s.metrics, _ = metrics.NewRegistry()
	copts, err := app.ClientOptions(cfg, s.codec, s.metrics, logger)
	if err != nil {
		t.Fatal(err)
	}
	copts.Logger = nopLogger{}
	tc, err := client.Dial(copts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	s.temporal = tc
	// Each test has its own task queue: its workflows run on its own worker and stack.
	cfg.TaskQueue = "e2e-" + testenv.RandomHex(6)
	if cfg.WatchPeriod == 0 {
		cfg.WatchPeriod = sc.watchPeriod
	}
	s.cfg = cfg
	invoices := app.InvoiceClient(cfg, tc)
	invoices.ContinueEvery = sc.continueEvery
	s.invoices = invoices
	if !sc.noWorker {
		w := worker.New(tc, cfg.TaskQueue, app.WorkerOptions())
		acts := app.NewActivities(cfg, st, keys, logger, s.metrics)
		acts.SignalInvoice = invoices.Signal
		workflows.Register(w, acts)
		workflows.RegisterAlerts(w, app.NewAlertActivities(st, keys))
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
		dctx, stopDispatch := context.WithCancel(context.Background())
		t.Cleanup(stopDispatch)
		dispatcher := app.NewDispatcher(cfg, st, tc, logger)
		dispatcher.Interval = 100 * time.Millisecond
		go dispatcher.Run(dctx)
	}

	srv := &api.Server{Store: st, Secrets: keys, Workflows: invoices, Tokens: []string{token}, Log: logger,
		Estimator: app.NewEstimator(cfg, st, keys, s.metrics), Metrics: s.metrics,
		Reconciler: app.NewReconciler(cfg, st, keys, s.metrics)}
	api := httptest.NewServer(srv.Handler())
	cctx, stopCounts := context.WithCancel(context.Background())
	t.Cleanup(stopCounts)
	go app.ExportInvoiceCounts(cctx, st, s.metrics, 200*time.Millisecond, logger)
	s.mu.Lock()
	s.api = api
	s.mu.Unlock()
	t.Cleanup(s.api.Close)
	s.opts = demo.Options{
		APIURL: s.api.URL, Token: token,
		StripeBaseURL: s.stripeURL, StripeKey: "sk_test_e2e_" + testenv.RandomHex(4),
		AnrokBaseURL: s.anrokURL, AnrokKey: "se2e/sae2e/secret.e2e",
		StripeWebhookSecret: webhookSecret,
		RunID:               testenv.RandomHex(4),
	}
	return s
}

// logBuffer collects what the worker and the API log, for tests that check nothing secret
// is logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...interface{}) {}
func (nopLogger) Info(string, ...interface{})  {}
func (nopLogger) Warn(string, ...interface{})  {}
func (nopLogger) Error(string, ...interface{}) {}

func (s *stack) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.api.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitFor polls the invoice until cond holds (30 s at most).
func (s *stack) waitFor(id string, cond func(demo.InvoiceState) bool) demo.InvoiceState {
	s.t.Helper()
	return s.waitForWithin(id, cond, 30)
}

func (s *stack) waitForWithin(id string, cond func(demo.InvoiceState) bool, seconds int) demo.InvoiceState {
	s.t.Helper()
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		st, err := demo.Get(context.Background(), s.opts, id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("invoice %s: condition not reached; last state %+v (err %v)", id, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func status(want string) func(demo.InvoiceState) bool {
	return func(st demo.InvoiceState) bool { return st.Status == want }
}

// stripeInvoicesOf returns the simulator's invoices carrying the taxflow invoice id.
func (s *stack) stripeInvoicesOf(id string) []stripesim.Invoice {
	var out []stripesim.Invoice
	for _, inv := range s.stripe.Invoices() {
		if inv.Metadata["taxflow_invoice_id"] == id && !inv.Deleted {
			out = append(out, inv)
		}
	}
	return out
}

func (s *stack) apiURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.api == nil {
		return "http://127.0.0.1:1"
	}
	return s.api.URL
}

type anrokSim struct {
	sim *anroksim.Server
	url string
}

// newAnrokSim starts one more Anrok simulator (a second connection).
func newAnrokSim(t *testing.T, o anroksim.Options) anrokSim {
	sim := anroksim.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return anrokSim{sim: sim, url: srv.URL}
}

func (s *stack) anrokTransaction(id string) (anroksim.Transaction, bool) {
	return s.anrok.Transaction("taxflow-demo:" + id)
}
