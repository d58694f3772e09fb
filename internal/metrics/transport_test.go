package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNormalizeOperationReplacesIDsAndKeepsFixedSegments(t *testing.T) {
	cases := []struct{ provider, path, want string }{
		// Stripe: generated ids, the simulator's ids, caller-chosen ids after a collection.
		{"stripe", "/v1/invoices/in_1NXWPnCo6bFb1KQto6C8OWvE/finalize", "/v1/invoices/{id}/finalize"},
		{"stripe", "/v1/invoices/in_sim_000001/add_lines", "/v1/invoices/{id}/add_lines"},
		{"stripe", "/v1/invoices/in_sim_000001/lines/il_sim_000002", "/v1/invoices/{id}/lines/{id}"},
		{"stripe", "/v1/invoices/in_1abc/mark_uncollectible", "/v1/invoices/{id}/mark_uncollectible"},
		{"stripe", "/v1/customers/cus_NffrFeUfNV2Hib", "/v1/customers/{id}"},
		{"stripe", "/v1/customers/cus_NffrFeUfNV2Hib/tax_ids/txi_1NuMB12eZvKYlo2C", "/v1/customers/{id}/tax_ids/{id}"},
		{"stripe", "/v1/tax_rates/txr_1MzS4RLkdIwHu7ixOfAFDTb3", "/v1/tax_rates/{id}"},
		{"stripe", "/v1/products/platform-fee", "/v1/products/{id}"},
		{"stripe", "/v1/invoices/search", "/v1/invoices/search"},
		{"stripe", "/v1/credit_notes/preview/lines", "/v1/credit_notes/preview/lines"},
		{"stripe", "/v1/invoices", "/v1/invoices"},
		{"stripe", "/v1/invoices?limit=10&starting_after=in_123", "/v1/invoices"},
		// Anrok: id: segments (escaped or not), fixed action names.
		{"anrok", "/v1/seller/transactions/createEphemeral", "/v1/seller/transactions/createEphemeral"},
		{"anrok", "/v1/seller/transactions/createOrUpdate", "/v1/seller/transactions/createOrUpdate"},
		{"anrok", "/v1/seller/transactions/id:taxflow:inv-2026-11-0001/void", "/v1/seller/transactions/{id}/void"},
		{"anrok", "/v1/seller/transactions/id:taxflow%3Ainv%2F1/void", "/v1/seller/transactions/{id}/void"},
		{"anrok", "/v1/seller/productTaxCategories/list", "/v1/seller/productTaxCategories/list"},
		// Generic shapes.
		{"other", "/api/v2/items/12345", "/api/v2/items/{id}"},
		{"other", "/api/v1beta1/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "/api/v1beta1/items/{id}"},
		{"other", "/items/deadbeef0123", "/items/{id}"},
		{"other", "/items/inv-2026-0001", "/items/{id}"},
		{"other", "/items/" + strings.Repeat("x", 40), "/items/{id}"},
		// Idempotent on normalized operations and plain names.
		{"stripe", "/v1/invoices/{id}/finalize", "/v1/invoices/{id}/finalize"},
		{"anrok", "createEphemeral", "createEphemeral"},
		{"anrok", "", "/"},
	}
	for _, c := range cases {
		if got := NormalizeOperation(c.provider, c.path); got != c.want {
			t.Errorf("NormalizeOperation(%q, %q) = %q, want %q", c.provider, c.path, got, c.want)
		}
	}
}

func TestTransportReplacesIDsInOperationLabel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/void") {
			w.WriteHeader(http.StatusConflict)
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	m, _ := NewRegistry()
	stripe := &http.Client{Transport: m.Transport(ProviderStripe, nil)}
	anrok := m.InstrumentClient(ProviderAnrok, &http.Client{Timeout: 5 * time.Second})
	if anrok.Timeout != 5*time.Second {
		t.Fatalf("InstrumentClient lost the timeout: %v", anrok.Timeout)
	}

	for i := 1; i <= 3; i++ {
		post(t, stripe, fmt.Sprintf("%s/v1/invoices/in_sim_%06d/finalize", srv.URL, i))
	}
	post(t, anrok, srv.URL+"/v1/seller/transactions/id:"+url.PathEscape("taxflow:inv-1")+"/void")
	post(t, anrok, srv.URL+"/v1/seller/transactions/createEphemeral")

	samples, body := scrape(t, m.Handler())
	if got := mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "stripe", "operation": "/v1/invoices/{id}/finalize", "status": "200"}); got != 3 {
		t.Errorf("stripe finalize count = %v, want 3", got)
	}
	mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "anrok", "operation": "/v1/seller/transactions/{id}/void", "status": "409"})
	mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "anrok", "operation": "/v1/seller/transactions/createEphemeral", "status": "200"})
	for _, leak := range []string{"in_sim_", "inv-1"} {
		if strings.Contains(body, leak) {
			t.Errorf("an id (%s) leaked into the metrics:\n%s", leak, body)
		}
	}
}

func TestTransportCounts429AsRateLimited(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "Too many requests", http.StatusTooManyRequests)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	m, _ := NewRegistry()
	c := m.InstrumentClient(ProviderAnrok, nil)
	for i := 0; i < 4; i++ {
		resp := post(t, c, srv.URL+"/v1/seller/transactions/createOrUpdate")
		if want := []int{429, 200}[i%2]; resp != want {
			t.Fatalf("request %d: status %d passed through, want %d", i, resp, want)
		}
	}
	samples, _ := scrape(t, m.Handler())
	if got := mustFind(t, samples, "taxflow_provider_rate_limited_total", map[string]string{"provider": "anrok"}); got != 2 {
		t.Errorf("rate limited = %v, want 2", got)
	}
	if got := mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "anrok", "operation": "/v1/seller/transactions/createOrUpdate", "status": "429"}); got != 2 {
		t.Errorf("429 requests = %v, want 2", got)
	}
	if _, ok := find(samples, "taxflow_provider_rate_limited_total", map[string]string{"provider": "stripe"}); ok {
		t.Error("stripe has a rate-limited count without any 429")
	}
}

func TestTransportRecordsErrorStatusWhenNoResponse(t *testing.T) {
	m, _ := NewRegistry()
	failing := roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("connection refused") })
	c := &http.Client{Transport: m.Transport(ProviderStripe, failing)}
	if _, err := c.Get("http://127.0.0.1:1/v1/invoices/in_1abc"); err == nil {
		t.Fatal("the transport's error was not passed through")
	}
	samples, _ := scrape(t, m.Handler())
	mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "stripe", "operation": "/v1/invoices/{id}", "status": "error"})
}

func TestOperationLabelIsBoundedPerProvider(t *testing.T) {
	m, _ := NewRegistry()
	for i := 0; i < maxLabelValues+50; i++ {
		// Fixed-looking segments no id rule catches: only the bound keeps them in check.
		m.ObserveProviderRequest("other", "/v1/things/"+strings.Repeat("a", i%31+1)+"/x"+strings.Repeat("b", i/31), 200, nil, time.Millisecond)
	}
	m.ObserveProviderRequest(ProviderStripe, "/v1/invoices", 200, nil, time.Millisecond)
	samples, _ := scrape(t, m.Handler())
	ops := map[string]bool{}
	for _, s := range samples {
		if s.name == "taxflow_provider_request_duration_seconds_count" && s.labels["provider"] == "other" {
			ops[s.labels["operation"]] = true
		}
	}
	if len(ops) != maxLabelValues+1 || !ops[OtherLabelValue] {
		t.Errorf("%d distinct operations (other present: %v), want %d + %q", len(ops), ops[OtherLabelValue], maxLabelValues, OtherLabelValue)
	}
	mustFind(t, samples, "taxflow_provider_request_duration_seconds_count",
		map[string]string{"provider": "stripe", "operation": "/v1/invoices", "status": "200"})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func post(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Post(u, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
