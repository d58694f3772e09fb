package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/workflows"
)

const token = "test-token-0123456789"

// recordingWorkflows stands in for Temporal in the API's own tests (the end-to-end tests in
// internal/e2e use the real server): it records what the API asked for.
type recordingWorkflows struct {
	mu      sync.Mutex
	started []string
	signals []string
	fail    bool
}

func (r *recordingWorkflows) StartInvoice(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return io.ErrUnexpectedEOF
	}
	r.started = append(r.started, id)
	return nil
}

func (r *recordingWorkflows) ForwardStripeDispute(_ context.Context, in activities.DisputeEventInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signals = append(r.signals, "dispute-event:"+in.DisputeID)
	return nil
}

func (r *recordingWorkflows) StartBulkRetry(_ context.Context, id string, _ workflows.BulkRetryInput) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, "bulk-retry:"+id)
	return nil
}

func (r *recordingWorkflows) BulkRetryOutcome(context.Context, string) (bool, *workflows.BulkRetryResult, error) {
	return true, nil, nil
}

func (r *recordingWorkflows) Signal(_ context.Context, id, signal string, _ any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signals = append(r.signals, id+":"+signal)
	return nil
}

type fixture struct {
	t     testing.TB
	srv   *httptest.Server
	store *store.Store
	wf    *recordingWorkflows
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, keys := testenv.SecretKey(t)
	wf := &recordingWorkflows{}
	s := &Server{Store: st, Secrets: keys, Workflows: wf, Tokens: []string{"old-token-0123456789", token}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	f := &fixture{t: t, srv: srv, store: st, wf: wf}
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Main","api_key":"sk_test_abcdefgh1234","settings":{}}`), 201)
	f.mustStatus(f.do("PUT", "/v1/anrok-connections/anrok", `{"name":"Sandbox","api_key":"sxxx/saxxx/secret.xxx","environment":"sandbox"}`), 201)
	f.mustStatus(f.do("PUT", "/v1/products/saas", `{"name":"SaaS","anrok_product_id":"saas-product-1"}`), 201)
	f.mustStatus(f.do("PUT", "/v1/customers/cust", `{"name":"Denver Co","billing_address":{"line1":"1450 Cherokee St","city":"Denver","region":"CO","postal_code":"80204","country":"US"},
		"billing_configurations":[{"id":"main","stripe_account_id":"acct","stripe_customer_id":"cus_1","collection_method":"charge_automatically"}]}`), 201)
	return f
}

type response struct {
	status int
	body   map[string]any
	raw    string
}

func (f *fixture) do(method, path, body string) response {
	return f.doWith(method, path, body, "Bearer "+token, "application/json")
}

func (f *fixture) doWith(method, path, body, auth, contentType string) response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

func (f *fixture) mustStatus(r response, want int) response {
	f.t.Helper()
	if r.status != want {
		f.t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	return r
}

func errorOf(r response) (code, field string) {
	e, _ := r.body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

const denver = `{"id":"inv_1","customer_id":"cust","currency":"USD","issued_at":"2026-11-01T00:00:00Z",
  "service_period":{"start":"2026-10-01T00:00:00Z","end":"2026-11-01T00:00:00Z"},
  "lines":[{"id":"l1","product_id":"saas","description":"Platform","amount":15000}]}`

func (f *fixture) invoiceCount() int {
	var n int
	if err := f.store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM invoices").Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestPostingTheSameInvoiceTwiceStartsOneWorkflow(t *testing.T) {
	f := newFixture(t)
	r := f.mustStatus(f.do("POST", "/v1/invoices", denver), 202)
	if r.body["workflow_id"] != "invoice/inv_1" || r.body["status"] != "received" {
		t.Fatalf("accepted body %s", r.raw)
	}
	f.mustStatus(f.do("POST", "/v1/invoices", denver), 200)
	if len(f.wf.started) != 1 {
		t.Fatalf("workflows started %v, want one", f.wf.started)
	}
	// A different body under the same id is a conflict and changes nothing.
	changed := strings.Replace(denver, "15000", "15001", 1)
	r = f.mustStatus(f.do("POST", "/v1/invoices", changed), 409)
	if code, field := errorOf(r); code != "invoice_conflict" || field != "id" {
		t.Fatalf("conflict error %s", r.raw)
	}
	g := f.mustStatus(f.do("GET", "/v1/invoices/inv_1", ""), 200)
	if g.body["subtotal"].(float64) != 15000 || g.body["currency"] != "usd" || g.body["status"] != "received" {
		t.Fatalf("stored invoice %s", g.raw)
	}
}

func TestInvalidInvoicesAreRefusedNamingTheFieldAndNothingIsStored(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, body, code, field string
		status                  int
	}{
		{"missing customer_id", strings.Replace(denver, `"customer_id":"cust",`, "", 1), "missing_field", "customer_id", 400},
		{"missing lines", `{"id":"i","customer_id":"cust","currency":"usd","issued_at":"2026-11-01T00:00:00Z","service_period":{"start":"2026-10-01T00:00:00Z","end":"2026-11-01T00:00:00Z"}}`, "missing_field", "lines", 400},
		{"non-integer amount", strings.Replace(denver, "15000", "150.5", 1), "invalid_amount", "lines[0].amount", 400},
		{"amount as a string", strings.Replace(denver, "15000", `"15000"`, 1), "invalid_amount", "lines[0].amount", 400},
		{"unknown currency", strings.Replace(denver, `"USD"`, `"XYZ"`, 1), "unknown_currency", "currency", 422},
		{"unknown customer", strings.Replace(denver, `"cust"`, `"nobody"`, 1), "customer_not_found", "customer_id", 422},
		{"unknown product", strings.Replace(denver, `"saas"`, `"ghost"`, 1), "product_not_found", "lines[0].product_id", 422},
		{"bad issued_at", strings.Replace(denver, "2026-11-01T00:00:00Z", "yesterday", 1), "invalid_time", "issued_at", 400},
		{"bad quantity", strings.Replace(denver, `"amount":15000`, `"quantity":1.5,"amount":15000`, 1), "invalid_decimal", "lines[0].quantity", 400},
		{"unknown field", strings.Replace(denver, `"currency"`, `"curency":"usd","currency"`, 1), "unknown_field", "curency", 400},
		{"over Stripe's maximum", strings.Replace(denver, "15000", "100000000", 1), "amount_exceeds_stripe_maximum", "lines[0].amount", 422},
		{"unicode id", strings.Replace(denver, `"inv_1"`, `"inv_é"`, 1), "invalid_field", "id", 400},
		{"duplicate line ids", strings.Replace(denver, `"lines":[{"id":"l1","product_id":"saas","description":"Platform","amount":15000}]`, `"lines":[{"id":"l1","product_id":"saas","amount":1},{"id":"l1","product_id":"saas","amount":2}]`, 1), "duplicate_line_id", "lines[1].id", 422},
		{"not JSON", `{"id":`, "malformed_json", "", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", "/v1/invoices", c.body)
			if r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.raw)
			}
			if code, field := errorOf(r); code != c.code || field != c.field {
				t.Fatalf("error %s, want code %s field %s", r.raw, c.code, c.field)
			}
			if msg := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Fatal("no message")
			}
		})
	}
	if n := f.invoiceCount(); n != 0 {
		t.Fatalf("%d invoices stored from invalid requests", n)
	}
	if len(f.wf.started) != 0 {
		t.Fatalf("workflows started for invalid requests: %v", f.wf.started)
	}
}

func TestEveryEndpointButHealthNeedsTheToken(t *testing.T) {
	f := newFixture(t)
	for _, auth := range []string{"", "Bearer wrong-token-0000000000", "Basic dXNlcjpwYXNz", "Bearer "} {
		r := f.doWith("GET", "/v1/invoices/inv_1", "", auth, "")
		if r.status != 401 {
			t.Fatalf("auth %q: status %d", auth, r.status)
		}
		if code, _ := errorOf(r); code != "unauthorized" {
			t.Fatalf("auth %q: %s", auth, r.raw)
		}
	}
	// Both tokens of a rotation work.
	f.mustStatus(f.doWith("GET", "/v1/products/saas", "", "Bearer old-token-0123456789", ""), 200)
	f.mustStatus(f.doWith("GET", "/healthz", "", "", ""), 200)
}

func TestSecretsAreWriteOnlyAndEncryptedAtRest(t *testing.T) {
	f := newFixture(t)
	r := f.mustStatus(f.do("GET", "/v1/stripe-accounts/acct", ""), 200)
	if strings.Contains(r.raw, "sk_test_abcdefgh1234") || r.body["api_key_hint"] != "sk_test_…1234" {
		t.Fatalf("account view %s", r.raw)
	}
	var sealed string
	if err := f.store.Pool.QueryRow(context.Background(), "SELECT api_key_sealed FROM stripe_accounts WHERE id='acct'").Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "sk_test") {
		t.Fatal("the API key is stored in clear")
	}
	// An update without the key keeps it.
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Renamed","settings":{}}`), 200)
	var again string
	_ = f.store.Pool.QueryRow(context.Background(), "SELECT api_key_sealed FROM stripe_accounts WHERE id='acct'").Scan(&again)
	if again != sealed {
		t.Fatal("an update without api_key changed the stored key")
	}
}

func TestCustomerReferencesMustExist(t *testing.T) {
	f := newFixture(t)
	r := f.mustStatus(f.do("PUT", "/v1/customers/c2", `{"name":"X","billing_configurations":[{"id":"b","stripe_account_id":"nope","stripe_customer_id":"cus_1","collection_method":"send_invoice"}]}`), 422)
	if code, field := errorOf(r); code != "stripe_account_not_found" || field != "billing_configurations[0].stripe_account_id" {
		t.Fatalf("%s", r.raw)
	}
	r = f.mustStatus(f.do("PUT", "/v1/customers/c2", `{"name":"X","billing_address":{"country":"usa"}}`), 422)
	if _, field := errorOf(r); field != "billing_address.country" {
		t.Fatalf("%s", r.raw)
	}
}

// Stripe's limitation: effective_at cannot be set on an invoice with automatic tax.
func TestAlignEffectiveAtIsRefusedWithTheStripeApp(t *testing.T) {
	f := newFixture(t)
	r := f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"A","settings":{"tax_mode":"stripe_app","align_effective_at":true}}`), 422)
	if code, field := errorOf(r); code != "setting_conflict" || field != "settings.align_effective_at" {
		t.Fatalf("%s", r.raw)
	}
	r = f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"A","settings":{"tax_mode":"stripe_app","on_tax_timeout":"keep_draft","tax_wait":"30m","leave_as_draft":true,"skip_below_minimum":true}}`), 200)
	settings := r.body["settings"].(map[string]any)
	if settings["tax_mode"] != "stripe_app" || settings["on_tax_timeout"] != "keep_draft" || settings["leave_as_draft"] != true || settings["skip_below_minimum"] != true || settings["tax_wait"] != "30m" {
		t.Fatalf("settings %v", settings)
	}
}

// Each account's rate limit: the provider's default for its mode until set, then the
// value set, within 1..10000.
func TestRequestsPerSecondPerAccount(t *testing.T) {
	f := newFixture(t)
	if r := f.mustStatus(f.do("GET", "/v1/stripe-accounts/acct", ""), 200); r.body["requests_per_second"] != float64(25) {
		t.Fatalf("a test-mode Stripe account's default: %s", r.raw)
	}
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/live", `{"alias":"Live","api_key":"sk_live_abcdefgh1234","settings":{}}`), 201)
	if r := f.mustStatus(f.do("GET", "/v1/stripe-accounts/live", ""), 200); r.body["requests_per_second"] != float64(100) {
		t.Fatalf("a live Stripe account's default: %s", r.raw)
	}
	if r := f.mustStatus(f.do("GET", "/v1/anrok-connections/anrok", ""), 200); r.body["requests_per_second"] != float64(10) {
		t.Fatalf("an Anrok connection's default: %s", r.raw)
	}
	for _, bad := range []string{"0", "-1", "10001", "2.5", `"10"`} {
		r := f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Main","settings":{},"requests_per_second":`+bad+`}`)
		if code, field := errorOf(r); r.status/100 != 4 || field != "requests_per_second" {
			t.Fatalf("requests_per_second %s: %d %s %s", bad, r.status, code, r.raw)
		}
	}
	r := f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Main","settings":{},"requests_per_second":40}`), 200)
	if r.body["requests_per_second"] != float64(40) {
		t.Fatalf("set: %s", r.raw)
	}
	r = f.mustStatus(f.do("PUT", "/v1/anrok-connections/anrok", `{"name":"Sandbox","environment":"sandbox","requests_per_second":5}`), 200)
	if r.body["requests_per_second"] != float64(5) {
		t.Fatalf("set: %s", r.raw)
	}
	if r := f.mustStatus(f.do("GET", "/v1/anrok-connections/anrok", ""), 200); r.body["requests_per_second"] != float64(5) {
		t.Fatalf("stored: %s", r.raw)
	}
}

func TestWorkflowStartFailureKeepsTheInvoiceAndTheSweeperStartsIt(t *testing.T) {
	f := newFixture(t)
	f.wf.fail = true
	f.mustStatus(f.do("POST", "/v1/invoices", denver), 202)
	if n := f.invoiceCount(); n != 1 {
		t.Fatalf("invoice not stored: %d", n)
	}
	f.wf.fail = false
	s := &Server{Store: f.store, Workflows: f.wf, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return time.Now().Add(time.Hour) }}
	if got := s.sweepOnce(context.Background()); got != 1 || len(f.wf.started) != 1 {
		t.Fatalf("sweeper started %d (%v)", got, f.wf.started)
	}
	if got := s.sweepOnce(context.Background()); got != 0 {
		t.Fatalf("sweeper started %d again", got)
	}
}

func TestUnsupportedContentTypeAndOversizedBodies(t *testing.T) {
	f := newFixture(t)
	r := f.doWith("POST", "/v1/invoices", denver, "Bearer "+token, "text/plain")
	if r.status != 415 {
		t.Fatalf("text/plain: %d %s", r.status, r.raw)
	}
	big := bytes.Repeat([]byte("a"), maxBody+10)
	r = f.do("POST", "/v1/invoices", `{"id":"`+string(big)+`"}`)
	if r.status != 413 {
		t.Fatalf("oversized: %d", r.status)
	}
}
