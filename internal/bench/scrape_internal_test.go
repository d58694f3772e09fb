package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Label values may hold braces and commas; the worker's operations do ({id}).
func TestScrapeReadsLabelsWithBraces(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`# HELP x
taxflow_provider_request_duration_seconds_count{operation="/v1/invoices",provider="stripe",status="200"} 3
taxflow_provider_request_duration_seconds_count{operation="/v1/invoices/{id}/add_lines",provider="stripe",status="200"} 3
taxflow_provider_request_duration_seconds_count{operation="/v1/a,b",provider="anrok",status="429"} 2
taxflow_provider_request_duration_seconds_countx 9
go_goroutines 41
`))
	}))
	defer srv.Close()
	got, err := scrapeLabeled(context.Background(), srv.URL, "taxflow_provider_request_duration_seconds_count", "provider")
	if err != nil {
		t.Fatal(err)
	}
	if got["stripe"] != 6 || got["anrok"] != 2 || len(got) != 2 {
		t.Fatalf("by provider: %v", got)
	}
	if v, err := scrapeValue(context.Background(), srv.URL, "go_goroutines"); err != nil || v != 41 {
		t.Fatalf("go_goroutines: %v %v", v, err)
	}
}

func TestPathPatternKeepsActions(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/invoices/in_1AbC/add_lines":                "/v1/invoices/{id}/add_lines",
		"/v1/invoices/in_000012/finalize":               "/v1/invoices/{id}/finalize",
		"/v1/seller/transactions/createEphemeral":       "/v1/seller/transactions/createEphemeral",
		"/v1/seller/transactions/id:taxflow:inv-1/void": "/v1/seller/transactions/{id}/void",
	} {
		if got := pathPattern(in); got != want {
			t.Errorf("pathPattern(%q) = %q, want %q", in, got, want)
		}
	}
}
