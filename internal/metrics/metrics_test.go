package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestNilMetricsIsNoOp(t *testing.T) {
	var m *Metrics
	m.ObserveProviderRequest(ProviderStripe, "/v1/invoices", 200, nil, time.Second)
	m.ObserveProviderRequest(ProviderStripe, "/v1/invoices", 0, errors.New("boom"), time.Second)
	m.CountProviderError(ProviderAnrok, "productExternalIdUnknown", "needs_person")
	m.CountWebhook(WebhookSourceStripe, "invoice.paid", "accepted")
	m.ObserveFinalization(time.Minute)
	m.SetInvoiceCounts([]InvoiceCount{{Status: "draft", TaxStatus: "pending", N: 1}})
	if m.Registerer() != nil {
		t.Error("nil Metrics has a registerer")
	}

	next := roundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("x") })
	if rt := m.Transport(ProviderStripe, next); rt == nil {
		t.Error("nil Metrics: Transport returned nil")
	} else if _, ok := rt.(roundTripperFunc); !ok {
		t.Errorf("nil Metrics: Transport wrapped next (%T)", rt)
	}
	if rt := m.Transport(ProviderStripe, nil); rt != http.DefaultTransport {
		t.Errorf("nil Metrics: Transport(nil) = %T, want http.DefaultTransport", rt)
	}
	c := &http.Client{}
	if m.InstrumentClient(ProviderAnrok, c) != c {
		t.Error("nil Metrics: InstrumentClient did not return the client itself")
	}

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Metrics: /metrics answered %d, want 404", rec.Code)
	}
}

func TestInvoiceCountsReplacePreviousOnes(t *testing.T) {
	m, _ := NewRegistry()
	m.SetInvoiceCounts([]InvoiceCount{
		{Status: "received", TaxStatus: "pending", N: 3},
		{Status: "failed", TaxStatus: "failed", N: 2},
		{Status: "finalized", TaxStatus: "committed", N: 10},
	})
	m.SetInvoiceCounts([]InvoiceCount{
		{Status: "finalized", TaxStatus: "committed", N: 14},
		{Status: "draft", TaxStatus: "calculated", N: 1},
		{Status: "draft", TaxStatus: "calculated", N: 2}, // the same pair twice: added up
		{Status: "skipped", TaxStatus: "", N: 4},
	})
	samples, _ := scrape(t, m.Handler())
	want := map[[2]string]float64{
		{"finalized", "committed"}: 14,
		{"draft", "calculated"}:    3,
		{"skipped", "none"}:        4,
		{"received", "pending"}:    0, // gone since the last count
		{"failed", "failed"}:       0,
	}
	seen := 0
	for _, s := range samples {
		if s.name != "taxflow_invoices" {
			continue
		}
		seen++
		k := [2]string{s.labels["status"], s.labels["tax_status"]}
		w, ok := want[k]
		if !ok {
			t.Errorf("unexpected taxflow_invoices%v = %v", s.labels, s.value)
			continue
		}
		if s.value != w {
			t.Errorf("taxflow_invoices%v = %v, want %v", s.labels, s.value, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%d taxflow_invoices series, want %d", seen, len(want))
	}
}

func TestProviderErrorsWebhooksAndFinalizationAreCounted(t *testing.T) {
	m, _ := NewRegistry()
	m.CountProviderError(ProviderAnrok, "productExternalIdUnknown", "needs_person")
	m.CountProviderError(ProviderAnrok, "productExternalIdUnknown", "needs_person")
	m.CountProviderError(ProviderStripe, "stripe_rate_limited", "rate_limited")
	m.CountWebhook(WebhookSourceStripe, "invoice.paid", "accepted")
	m.CountWebhook(WebhookSourceStripe, "invoice.paid", "duplicate")
	m.CountWebhook(WebhookSourceOutgoing, "invoice.finalized", "delivered")
	m.ObserveFinalization(90 * time.Second)
	m.ObserveFinalization(3 * time.Hour)
	m.ObserveProviderRequest(ProviderAnrok, "/v1/seller/transactions/createEphemeral", 0, errors.New("timeout"), time.Second)

	samples, _ := scrape(t, m.Handler())
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"taxflow_provider_errors_total", map[string]string{"provider": "anrok", "code": "productExternalIdUnknown", "class": "needs_person"}, 2},
		{"taxflow_provider_errors_total", map[string]string{"provider": "stripe", "code": "stripe_rate_limited", "class": "rate_limited"}, 1},
		{"taxflow_webhook_events_total", map[string]string{"source": "stripe", "type": "invoice.paid", "result": "accepted"}, 1},
		{"taxflow_webhook_events_total", map[string]string{"source": "stripe", "type": "invoice.paid", "result": "duplicate"}, 1},
		{"taxflow_webhook_events_total", map[string]string{"source": "outgoing", "type": "invoice.finalized", "result": "delivered"}, 1},
		{"taxflow_invoice_finalization_seconds_count", map[string]string{}, 2},
		{"taxflow_invoice_finalization_seconds_bucket", map[string]string{"le": "120"}, 1},
		{"taxflow_invoice_finalization_seconds_bucket", map[string]string{"le": "14400"}, 2},
		{"taxflow_provider_request_duration_seconds_count", map[string]string{"provider": "anrok", "operation": "/v1/seller/transactions/createEphemeral", "status": "error"}, 1},
	}
	for _, c := range checks {
		if got := mustFind(t, samples, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestNewRegistryServesGoAndProcessMetrics(t *testing.T) {
	m, _ := NewRegistry()
	samples, _ := scrape(t, m.Handler())
	got := names(samples)
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !got[want] {
			t.Errorf("%s missing from /metrics", want)
		}
	}
}

func TestNewTwiceOnOneRegistryRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := New(reg)
	b := New(reg)
	if a != b {
		t.Fatal("New on the same registry built a second Metrics")
	}
	a.CountWebhook(WebhookSourceStripe, "invoice.paid", "accepted")
	a.TemporalMetricsHandler().Counter("temporal_request").Inc(1)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("gather: %v", err)
	}
	// A wrapping registerer over the same registry: a Metrics of its own, but the existing
	// collectors are reused rather than registered twice.
	wrapped := prometheus.WrapRegistererWith(nil, reg)
	c := New(wrapped)
	c.CountWebhook(WebhookSourceStripe, "invoice.paid", "accepted")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "taxflow_webhook_events_total" && mf.GetMetric()[0].GetCounter().GetValue() != 2 {
			t.Errorf("webhook counter = %v, want 2 (shared)", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}
