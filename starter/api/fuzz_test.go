package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/estimate"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
	"github.com/taxflow/taxflow/internal/testenv"
)

// The API's fuzz targets run the real handler on a real PostgreSQL database (the fixture
// of api_test.go), calling it in-process rather than over the network so that a brief
// `go test -fuzz` run sends thousands of requests. Whatever the body, the answer is a 2xx
// or a 4xx in the contract's shape, never a 5xx (which is also what the recovered handler
// turns a panic into); a rejected request stores and starts nothing, and an accepted
// invoice is stored exactly as sent.

// snakeCase is the contract's error code: snake_case ASCII.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// serve sends one authenticated request straight to h.
func serve(h http.Handler, method, target, body, contentType string) response {
	req := httptest.NewRequest(method, "http://taxflow.test/", strings.NewReader(body))
	u, err := req.URL.Parse(target)
	if err != nil {
		panic(err)
	}
	req.URL, req.RequestURI = u, u.RequestURI()
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := response{status: rec.Code, raw: rec.Body.String()}
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/json" {
		out.raw = "Content-Type " + rec.Header().Get("Content-Type") + ": " + out.raw
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.body)
	return out
}

// contractError is the contract's error body, read strictly: nothing else at the top or
// in the error.
type contractError struct {
	Error *struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Field   *string `json:"field"`
		Details []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"details"`
	} `json:"error"`
}

// checkAnswer fails t unless r is a 2xx, or a 4xx whose body is the contract's error.
func checkAnswer(t testing.TB, what string, r response) {
	t.Helper()
	switch {
	case r.status >= 500:
		t.Fatalf("%s: %d (never a 5xx for a client's request): %s", what, r.status, r.raw)
	case r.status >= 200 && r.status < 300:
		return
	case r.status < 400:
		t.Fatalf("%s: status %d", what, r.status)
	}
	dec := json.NewDecoder(strings.NewReader(r.raw))
	dec.DisallowUnknownFields()
	var e contractError
	if err := dec.Decode(&e); err != nil || e.Error == nil {
		t.Fatalf("%s: %d is not the contract's error (%v): %s", what, r.status, err, r.raw)
	}
	if !snakeCase.MatchString(e.Error.Code) || strings.TrimSpace(e.Error.Message) == "" {
		t.Fatalf("%s: %d with code %q and message %q: %s", what, r.status, e.Error.Code, e.Error.Message, r.raw)
	}
	if e.Error.Field != nil && *e.Error.Field == "" {
		t.Fatalf("%s: an empty field: %s", what, r.raw)
	}
	for _, d := range e.Error.Details {
		if !snakeCase.MatchString(d.Code) || d.Message == "" || d.Field == "" {
			t.Fatalf("%s: a detail without code, message or field: %s", what, r.raw)
		}
	}
}

// sentInvoice is a POST /v1/invoices body as a client means it, read independently of
// the handler's own types.
type sentInvoice struct {
	ID            string `json:"id"`
	CustomerID    string `json:"customer_id"`
	Currency      string `json:"currency"`
	IssuedAt      string `json:"issued_at"`
	ServicePeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"service_period"`
	Lines []struct {
		ID           string  `json:"id"`
		ProductID    string  `json:"product_id"`
		Description  *string `json:"description"`
		Quantity     *string `json:"quantity"`
		UnitPrice    *string `json:"unit_price"`
		Amount       int64   `json:"amount"`
		TaxInclusive bool    `json:"tax_inclusive"`
	} `json:"lines"`
	Metadata map[string]string `json:"metadata"`
}

// storedInvoice is what GET /v1/invoices/{id} answers, as far as a POST sets it.
type storedInvoice struct {
	ID            string               `json:"id"`
	CustomerID    string               `json:"customer_id"`
	Currency      string               `json:"currency"`
	Status        string               `json:"status"`
	Subtotal      int64                `json:"subtotal"`
	Total         int64                `json:"total"`
	IssuedAt      time.Time            `json:"issued_at"`
	ServicePeriod map[string]time.Time `json:"service_period"`
	Lines         []struct {
		ID           string  `json:"id"`
		ProductID    string  `json:"product_id"`
		Description  *string `json:"description"`
		Quantity     *string `json:"quantity"`
		UnitPrice    *string `json:"unit_price"`
		Amount       int64   `json:"amount"`
		TaxInclusive bool    `json:"tax_inclusive"`
	} `json:"lines"`
	Metadata   map[string]string `json:"metadata"`
	WorkflowID string            `json:"workflow_id"`
}

// postInvoiceChecked posts body and checks the contract, what was stored and what was
// started; it returns the answer.
func (f *fixture) postInvoiceChecked(t testing.TB, body string) response {
	t.Helper()
	h := f.srv.Config.Handler
	before, started := f.invoiceCount(), len(f.wf.started)
	r := serve(h, "POST", "/v1/invoices", body, "application/json")
	checkAnswer(t, "POST /v1/invoices", r)
	after := f.invoiceCount()
	switch r.status {
	case http.StatusAccepted:
		if after != before+1 || len(f.wf.started) != started+1 {
			t.Fatalf("202: %d invoices stored (was %d), %d workflows started (was %d)", after, before, len(f.wf.started), started)
		}
	case http.StatusOK:
		if after != before || len(f.wf.started) != started {
			t.Fatalf("200 (a repeat): %d invoices stored (was %d), %d workflows started (was %d)", after, before, len(f.wf.started), started)
		}
	default:
		if r.status < 400 {
			t.Fatalf("POST /v1/invoices answered %d: %s", r.status, r.raw)
		}
		if after != before || len(f.wf.started) != started {
			t.Fatalf("%d: rejected, yet %d invoices stored (was %d), %d workflows started (was %d): %s", r.status, after, before, len(f.wf.started), started, r.raw)
		}
		return r
	}
	var sent sentInvoice
	if err := json.Unmarshal([]byte(body), &sent); err != nil {
		t.Fatalf("%d for a body that does not decode (%v)", r.status, err)
	}
	g := serve(h, "GET", "/v1/invoices/"+sent.ID, "", "")
	if g.status != http.StatusOK {
		t.Fatalf("GET after %d: %d %s", r.status, g.status, g.raw)
	}
	var got storedInvoice
	if err := json.Unmarshal([]byte(g.raw), &got); err != nil {
		t.Fatal(err)
	}
	if r.body["id"] != sent.ID || r.body["workflow_id"] != got.WorkflowID {
		t.Fatalf("answer %s for invoice %q stored with workflow %q", r.raw, sent.ID, got.WorkflowID)
	}
	sameInvoice(t, sent, got)
	return r
}

// sameInvoice fails t unless got is sent as taxflow normalizes it: the currency in lower
// case, times in UTC to the microsecond, descriptions trimmed (blank: none), decimals by
// value, no metadata as {}.
func sameInvoice(t testing.TB, sent sentInvoice, got storedInvoice) {
	t.Helper()
	fail := func(what string, want, have any) {
		t.Helper()
		t.Fatalf("invoice %q: %s stored as %v, sent %v", sent.ID, what, have, want)
	}
	if got.ID != sent.ID || got.CustomerID != sent.CustomerID || got.Status != "received" {
		fail("id, customer, status", []string{sent.ID, sent.CustomerID, "received"}, []string{got.ID, got.CustomerID, got.Status})
	}
	if got.Currency != strings.ToLower(sent.Currency) {
		fail("currency", sent.Currency, got.Currency)
	}
	for _, tm := range []struct {
		what, sent string
		got        time.Time
	}{{"issued_at", sent.IssuedAt, got.IssuedAt}, {"service_period.start", sent.ServicePeriod.Start, got.ServicePeriod["start"]}, {"service_period.end", sent.ServicePeriod.End, got.ServicePeriod["end"]}} {
		want, err := time.Parse(time.RFC3339Nano, tm.sent)
		if err != nil || !want.Truncate(time.Microsecond).Equal(tm.got) {
			fail(tm.what, tm.sent, tm.got)
		}
	}
	if len(got.Lines) != len(sent.Lines) {
		fail("lines", len(sent.Lines), len(got.Lines))
	}
	var subtotal int64
	for i, l := range sent.Lines {
		g := got.Lines[i]
		subtotal += l.Amount
		if g.ID != l.ID || g.ProductID != l.ProductID || g.Amount != l.Amount || g.TaxInclusive != l.TaxInclusive {
			fail(fmt.Sprintf("lines[%d]", i), l, g)
		}
		wantDesc := ""
		if l.Description != nil {
			wantDesc = strings.TrimSpace(*l.Description)
		}
		if (wantDesc == "") != (g.Description == nil) || (g.Description != nil && *g.Description != wantDesc) {
			fail(fmt.Sprintf("lines[%d].description", i), wantDesc, g.Description)
		}
		for _, d := range []struct {
			what      string
			sent, got *string
		}{{"quantity", l.Quantity, g.Quantity}, {"unit_price", l.UnitPrice, g.UnitPrice}} {
			if (d.sent == nil) != (d.got == nil) {
				fail(fmt.Sprintf("lines[%d].%s", i, d.what), d.sent, d.got)
			}
			if d.sent != nil && !decimal.RequireFromString(*d.sent).Equal(decimal.RequireFromString(*d.got)) {
				fail(fmt.Sprintf("lines[%d].%s", i, d.what), *d.sent, *d.got)
			}
		}
	}
	if got.Subtotal != subtotal || got.Total != subtotal {
		fail("subtotal and total", subtotal, []int64{got.Subtotal, got.Total})
	}
	if len(got.Metadata) != len(sent.Metadata) {
		fail("metadata", sent.Metadata, got.Metadata)
	}
	for k, v := range sent.Metadata {
		if have, ok := got.Metadata[k]; !ok || have != v {
			fail("metadata."+k, v, have)
		}
	}
}

// FuzzPostInvoice posts any body to POST /v1/invoices.
func FuzzPostInvoice(f *testing.F) {
	for i, seed := range []string{
		denver,
		strings.Replace(denver, `"amount":15000}`, `"quantity":"12500.5","unit_price":"0.02","amount":25001,"tax_inclusive":true},{"id":"l2","product_id":"saas","amount":-500}`, 1),
		strings.Replace(denver, `"lines"`, `"billing_configuration_id":"main","metadata":{"po":"PO-1","note":"ünïcödé ✓"},"lines"`, 1),
		strings.Replace(denver, `"Platform"`, `"  Platform — ☃  "`, 1),
		strings.Replace(denver, "2026-11-01T00:00:00Z", "2026-11-01T00:00:00.123456789+05:30", 1),
		strings.Replace(denver, `"USD"`, `"jpy"`, 1),
		strings.Replace(denver, "15000", "99999999", 1),
		strings.Replace(denver, "15000", "150.5", 1),
		strings.Replace(denver, "15000", "1e2", 1),
		strings.Replace(denver, `"l1"`, `"l1"},{"id":"l1","product_id":"saas","amount":1`, 1),
		`{"id":"inv_2","customer_id":"cust","currency":"usd","issued_at":"2026-11-01T00:00:00Z","service_period":{"start":"2026-10-01T00:00:00Z","end":"2026-11-01T00:00:00Z"},"lines":[]}`,
		`[]`, `null`, `{}`, ``, `"x"`, `{"id":1}`,
	} {
		// Each seed an invoice of its own, so that the valid ones are accepted, not conflicts.
		f.Add(strings.Replace(seed, `"inv_1"`, fmt.Sprintf(`"inv_seed%d"`, i), 1))
	}
	f.Add(denver)
	f.Add(denver) // an identical repeat: 200
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		fx.postInvoiceChecked(t, body)
	})
}

// FuzzPostInvoiceFields posts invoices built from fuzzed fields, so that the fuzzer spends
// its time past the JSON syntax: ids, currencies, times, decimals, raw amounts, metadata
// and the number of lines (past Stripe's 250).
func FuzzPostInvoiceFields(f *testing.F) {
	f.Add("inv_a", "cust", "usd", "2026-11-01T00:00:00Z", "l1", "saas", "Platform", "", "", "15000", false, "", "", uint16(1), false)
	f.Add("inv_b", "cust", "EUR", "2026-11-30T23:59:59.999999999Z", "line.1", "saas", " ", "12500.5", "0.02", "25001", true, "po", "42", uint16(3), false)
	f.Add("inv_c", "cust", "usd", "2026-11-01T00:00:00Z", "l", "saas", "", "0", "0", "0", false, "", "", uint16(260), false)
	f.Add("inv_c", "cust", "usd", "2026-11-01T00:00:00Z", "l", "saas", "", "0", "0", "0", false, "", "", uint16(260), true)
	f.Add("inv_d", "cust", "usd", "2026-11-01T00:00:00Z", "l", "saas", "x", "999999999999999.999999999999", "-1", "-99999999", false, "taxflow_x", "y", uint16(2), false)
	f.Add("inv_e", "cust", "xyz", "2001-01-01T00:00:00-23:59", "l", "ghost", "'; DROP TABLE invoices; --", "1e3", "abc", "0e-99", false, "[k]", strings.Repeat("v", 501), uint16(5001), false)
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, id, customer, currency, issuedAt, lineID, product, description, quantity, unitPrice, amount string,
		inclusive bool, metaKey, metaValue string, lines uint16, duplicate bool) {
		str := func(s string) string {
			b, _ := json.Marshal(s)
			return string(b)
		}
		if !json.Valid([]byte(amount)) {
			amount = str(amount)
		}
		var b strings.Builder
		fmt.Fprintf(&b, `{"id":%s,"customer_id":%s,"currency":%s,"issued_at":%s,"service_period":{"start":%s,"end":"2026-12-01T00:00:00Z"},`,
			str(id), str(customer), str(currency), str(issuedAt), str(issuedAt))
		if metaKey != "" {
			fmt.Fprintf(&b, `"metadata":{%s:%s},`, str(metaKey), str(metaValue))
		}
		b.WriteString(`"lines":[`)
		n := int(lines % 5100)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			lid := fmt.Sprintf("%s%d", lineID, i)
			if duplicate && i == n-1 {
				lid = fmt.Sprintf("%s%d", lineID, 0)
			}
			fmt.Fprintf(&b, `{"id":%s,"product_id":%s,"description":%s,"amount":%s,"tax_inclusive":%t`, str(lid), str(product), str(description), amount, inclusive)
			if quantity != "" {
				fmt.Fprintf(&b, `,"quantity":%s`, str(quantity))
			}
			if unitPrice != "" {
				fmt.Fprintf(&b, `,"unit_price":%s`, str(unitPrice))
			}
			b.WriteByte('}')
		}
		b.WriteString(`]}`)
		fx.postInvoiceChecked(t, b.String())
	})
}

// fixedRate is a tax engine for the estimate endpoint: 10% of every line, one
// jurisdiction, computed locally (nothing here is about Anrok).
type fixedRate struct{}

func (fixedRate) Name() string { return "fixed-rate" }

func (fixedRate) Calculate(_ context.Context, req tax.Request) (tax.Result, error) {
	var res tax.Result
	for _, l := range req.Lines {
		exact := decimal.NewFromInt(l.Amount).Mul(decimal.RequireFromString("0.1"))
		lr := tax.LineResult{LineID: l.ID, Tax: exact.Round(0).IntPart(), PreTaxAmount: decimal.NewFromInt(l.Amount),
			Breakdown: []tax.BreakdownEntry{{Jurisdiction: "Test", Rate: decimal.RequireFromString("0.1"), TaxableAmount: decimal.NewFromInt(l.Amount), TaxAmount: exact}}}
		res.Tax += lr.Tax
		res.Lines = append(res.Lines, lr)
	}
	return res, nil
}

var errNotForFuzzing = errors.New("not used by the estimate endpoint")

func (fixedRate) Commit(context.Context, tax.Request) (tax.Result, error) {
	return tax.Result{}, errNotForFuzzing
}
func (fixedRate) Void(context.Context, string, int64) error           { return errNotForFuzzing }
func (fixedRate) Negate(context.Context, string, string, int64) error { return errNotForFuzzing }

// jsonEndpoints are the other endpoints that take a JSON body (inv_f is a finalized
// invoice, so that credit notes, disputes and voids get past their state checks).
var jsonEndpoints = []struct{ method, path string }{
	{"PUT", "/v1/stripe-accounts/fz"},
	{"PUT", "/v1/anrok-connections/fz"},
	{"PUT", "/v1/products/fz"},
	{"PUT", "/v1/customers/fz"},
	{"PUT", "/v1/webhook-endpoints/fz"},
	{"POST", "/v1/invoices/inv_f/credit-notes"},
	{"POST", "/v1/invoices/inv_f/disputes"},
	{"POST", "/v1/tax/estimate"},
	{"POST", "/v1/invoices/inv_f/void"},
	{"POST", "/v1/invoices/inv_f/retry"},
}

// newEndpointsFixture is the fixture with a finalized invoice inv_f, and a handler that
// also answers estimates (with fixedRate), its Anrok connection sealed under that
// handler's keyring.
func newEndpointsFixture(t testing.TB) (*fixture, http.Handler) {
	fx := newFixture(t)
	_, keys := testenv.SecretKey(t)
	s := &Server{Store: fx.store, Secrets: keys, Workflows: fx.wf, Tokens: []string{token}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Estimator: &estimate.Estimator{Store: fx.store, Secrets: keys, TaxEngine: func(sqldb.AnrokConnection, string) tax.Engine { return fixedRate{} }}}
	h := s.Handler()
	for _, setup := range []struct{ method, path, body string }{
		{"PUT", "/v1/anrok-connections/anrok", `{"name":"Sandbox","api_key":"sxxx/saxxx/secret.xxx","environment":"sandbox"}`},
		{"POST", "/v1/invoices", strings.Replace(denver, `"inv_1"`, `"inv_f"`, 1)},
	} {
		if r := serve(h, setup.method, setup.path, setup.body, "application/json"); r.status/100 != 2 {
			t.Fatalf("%s %s: %d %s", setup.method, setup.path, r.status, r.raw)
		}
	}
	if _, err := fx.store.Pool.Exec(context.Background(), `UPDATE invoices SET status = 'finalized', tax_status = 'committed', stripe_invoice_id = 'in_f', stripe_finalized_at = now() WHERE id = 'inv_f'`); err != nil {
		t.Fatal(err)
	}
	return fx, h
}

// stringsOf lists every string in a decoded JSON document, with its keys or without.
func stringsOf(v any, keys bool, out []string) []string {
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = stringsOf(e, keys, out)
		}
	case map[string]any:
		for k, e := range x {
			if keys {
				out = append(out, k)
			}
			out = stringsOf(e, keys, out)
		}
	}
	return out
}

// FuzzJSONEndpoints posts any body to every other endpoint that takes JSON. An accepted
// configuration can be read back, and never shows a secret it was sent.
func FuzzJSONEndpoints(f *testing.F) {
	for i, body := range []string{
		`{"alias":"Main","api_key":"sk_test_fuzz00001234","webhook_secret":"whsec_fuzz_secret_0001","base_url":"http://127.0.0.1:1","settings":{"days_until_due":7,"tax_mode":"stripe_app","tax_wait":"30m","on_tax_timeout":"keep_draft","company_name":"Acme"},"requests_per_second":5}`,
		`{"name":"Sandbox","api_key":"sxxx/saxxx/fuzz-secret.xxx","environment":"sandbox","accounting_time_zone":"America/New_York","transaction_prefix":"fz:","default":true,"requests_per_second":3}`,
		`{"name":"SaaS","stripe_product_id":"prod_1","anrok_product_id":"saas-product-1"}`,
		`{"name":"X Co","email":"billing@x.example","billing_address":{"line1":"1 Main St","city":"Denver","region":"CO","postal_code":"80204","country":"US"},"tax_ids":[{"type":"eu_vat","value":"DE123456789"}],"anrok_connection_id":"anrok","billing_configurations":[{"id":"b","stripe_account_id":"acct","stripe_customer_id":"cus_1","collection_method":"send_invoice"}]}`,
		`{"url":"https://ops.example.com/hook","secret":"whsec-fuzz-0123456789abcdef","events":["invoice.failed"]}`,
		`{"id":"cn1","lines":[{"line_id":"l1","amount":100}],"reason":"duplicate","memo":"m"}`,
		`{"status":"lost","dispute_id":"dp_1"}`,
		`{"customer_id":"cust","currency":"usd","date":"2026-11-01T00:00:00Z","lines":[{"id":"l1","product_id":"saas","amount":15000,"quantity":"2"}]}`,
		`{"reason":"duplicate"}`,
		`{}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Add(uint8(0), `{"alias":"A","api_key":"sk_\u0000","settings":{}}`)
	f.Add(uint8(7), `{"customer_id":"cust","currency":"usd","lines":[{"id":"l1","product_id":"saas","amount":0e-99999}]}`)
	_, h := newEndpointsFixture(f)
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		ep := jsonEndpoints[int(which)%len(jsonEndpoints)]
		r := serve(h, ep.method, ep.path, body, "application/json")
		what := ep.method + " " + ep.path
		checkAnswer(t, what, r)
		if ep.method != "PUT" || r.status/100 != 2 {
			return
		}
		g := serve(h, "GET", ep.path, "", "")
		if g.status != http.StatusOK {
			t.Fatalf("GET after %s answered %d: %d %s", what, r.status, g.status, g.raw)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%d for a body that does not decode (%v)", r.status, err)
		}
		for _, name := range []string{"api_key", "webhook_secret", "secret"} {
			secret, _ := doc[name].(string)
			if len(secret) < 9 {
				continue // too short to tell from its hint
			}
			shared := 0
			for _, s := range stringsOf(doc, true, nil) {
				if strings.Contains(s, secret) {
					shared++
				}
			}
			if shared > 1 {
				continue // sent elsewhere in the body too, and shown there
			}
			for _, shown := range []response{r, g} {
				for _, s := range stringsOf(map[string]any(shown.body), false, nil) {
					if strings.Contains(s, secret) {
						t.Fatalf("%s shows its %s: %s", what, name, shown.raw)
					}
				}
			}
		}
	})
}
