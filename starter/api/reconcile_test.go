package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/reconcile"
)

// fakeReconciler records the parameters it is asked for and answers what it is given.
type fakeReconciler struct {
	got    []reconcile.Params
	report reconcile.Report
	err    error
}

func (f *fakeReconciler) Reconcile(_ context.Context, p reconcile.Params) (reconcile.Report, error) {
	f.got = append(f.got, p)
	return f.report, f.err
}

// reconcileServer is the API with only a reconciler behind it (no database needed).
func reconcileServer(t *testing.T, rec Reconciler) *httptest.Server {
	t.Helper()
	s := &Server{Tokens: []string{token}, Reconciler: rec, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func getReconciliation(t *testing.T, srv *httptest.Server, query string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/reconciliation?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header
}

const november = "from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"

// The report comes back as the reconciler made it, for the period and filters asked.
func TestReconciliationReportsThePeriodsDifferences(t *testing.T) {
	from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rec := &fakeReconciler{report: reconcile.Report{
		Period:  reconcile.Period{From: from, To: to, Basis: "received_at"},
		Checked: reconcile.Checked{Invoices: 3, StripeInvoices: 3, AnrokTransactions: 2},
		Differences: []reconcile.Difference{{Kind: reconcile.MissingInAnrok, InvoiceID: "inv-1", StripeInvoiceID: "in_1",
			AnrokTransactionID: "taxflow:inv-1", Taxflow: &reconcile.TaxflowSide{Status: "finalized"}, Message: "record it again"}},
		InFlight: 1, Notes: []string{},
	}}
	srv := reconcileServer(t, rec)
	code, body, _ := getReconciliation(t, srv, november+"&stripe_account_id=acct&anrok_connection_id=anrok")
	if code != 200 {
		t.Fatalf("%d %v", code, body)
	}
	want := reconcile.Params{From: from, To: to, StripeAccountID: "acct", AnrokConnectionID: "anrok"}
	if len(rec.got) != 1 || rec.got[0] != want {
		t.Fatalf("asked %+v", rec.got)
	}
	diffs := body["differences"].([]any)
	d := diffs[0].(map[string]any)
	if d["kind"] != "missing_in_anrok" || d["invoice_id"] != "inv-1" || d["anrok_transaction_id"] != "taxflow:inv-1" ||
		d["stripe"] != nil || body["in_flight"] != float64(1) || body["checked"].(map[string]any)["anrok_transactions"] != float64(2) {
		t.Fatalf("%v", body)
	}
	if p := body["period"].(map[string]any); p["from"] != "2026-11-01T00:00:00Z" || p["basis"] != "received_at" {
		t.Fatalf("period %v", p)
	}
}

// Bad parameters are refused naming the field, before anything is read: 400 when
// malformed, 422 when well-formed but not a period that can be reconciled.
func TestReconciliationRefusesBadParametersNamingTheField(t *testing.T) {
	rec := &fakeReconciler{}
	srv := reconcileServer(t, rec)
	for _, c := range []struct {
		query  string
		status int
		field  string
		code   string
	}{
		{"to=2026-12-01T00:00:00Z", 400, "from", "missing_field"},
		{"from=2026-11-01T00:00:00Z", 400, "to", "missing_field"},
		{"from=yesterday&to=2026-12-01T00:00:00Z", 400, "from", "invalid_time"},
		{november + "&stripe_account_id=a%20b", 400, "stripe_account_id", "invalid_id"},
		{november + "&anrok_connection_id=x:y", 400, "anrok_connection_id", "invalid_id"},
		{november + "&month=11", 400, "month", "unknown_parameter"},
		{november + "&from=2026-10-01T00:00:00Z", 400, "from", "invalid_field"},
		{"from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z", 422, "to", "invalid_period"},
		{"from=2025-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", 422, "to", "period_too_long"},
	} {
		code, body, _ := getReconciliation(t, srv, c.query)
		e, _ := body["error"].(map[string]any)
		if code != c.status || e["field"] != c.field || e["code"] != c.code || e["message"] == "" {
			t.Errorf("%s: %d %v", c.query, code, body)
		}
	}
	if len(rec.got) != 0 {
		t.Fatalf("the reconciler was asked %v", rec.got)
	}
}

// What the reconciler refuses, or cannot read, comes back in the contract's shape.
func TestReconciliationErrorsFromTheReconciler(t *testing.T) {
	for _, c := range []struct {
		err        error
		status     int
		code       string
		field      string
		retryAfter string
	}{
		{&reconcile.ParamError{Field: "stripe_account_id", Code: "not_found", Message: `Stripe account "x" does not exist`}, 422, "not_found", "stripe_account_id", ""},
		{fmt.Errorf("list: %w", failure.NeedsPersonError(failure.ProviderStripe, "stripe_unauthorized", "key refused")), 422, "stripe_unauthorized", "", ""},
		{fmt.Errorf("list: %w", &failure.Error{Provider: "anrok", Class: failure.RateLimited, Code: "anrok_rate_limited", RetryAfter: 2 * time.Second}), 503, "provider_unavailable", "", "5"},
		{fmt.Errorf("list: %w", failure.RetryableError(failure.ProviderStripe, "stripe_unreachable", "down", nil)), 503, "provider_unavailable", "", "5"},
		{fmt.Errorf("database gone"), 500, "internal_error", "", ""},
	} {
		srv := reconcileServer(t, &fakeReconciler{err: c.err})
		code, body, header := getReconciliation(t, srv, november)
		e, _ := body["error"].(map[string]any)
		if code != c.status || e["code"] != c.code || (e["field"] != nil && e["field"] != c.field) {
			t.Errorf("%v: %d %v", c.err, code, body)
		}
		if header.Get("Retry-After") != c.retryAfter && c.status != 500 {
			t.Errorf("Retry-After %q", header.Get("Retry-After"))
		}
	}
	code, body, _ := getReconciliation(t, reconcileServer(t, nil), november)
	if code != 503 || body["error"].(map[string]any)["code"] != "reconciliation_unavailable" {
		t.Fatalf("no reconciler: %d %v", code, body)
	}
}

// Like every endpoint, it needs the token.
func TestReconciliationNeedsTheToken(t *testing.T) {
	srv := reconcileServer(t, &fakeReconciler{})
	resp, err := http.Get(srv.URL + "/v1/reconciliation?" + november)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("%d", resp.StatusCode)
	}
}
