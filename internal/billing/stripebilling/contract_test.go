package stripebilling

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/internal/testenv"
)

// startStripeMock runs the pinned stripe-mock (`make tools`) on free ports. stripe-mock
// validates every request against Stripe's OpenAPI schema: an unknown or mistyped parameter
// is a 400, which fails the test.
func startStripeMock(t *testing.T) string {
	t.Helper()
	path := filepath.Join(testenv.RepoRoot(), "bin", "stripe-mock")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is missing: run `make tools`", path)
	}
	httpPort, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	httpsPort, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-http-port", fmt.Sprint(httpPort), "-https-port", fmt.Sprint(httpsPort))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + addr
}

// recorder keeps the method and path of every request, and the idempotency keys.
type recorder struct {
	mu    sync.Mutex
	calls []string
	keys  []string
	next  http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+req.URL.Path)
	if k := req.Header.Get("Idempotency-Key"); k != "" {
		r.keys = append(r.keys, k)
	}
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func demoLines() []billing.Line {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	denver := []billing.LineTax{
		{Amount: 0, TaxableAmount: 15000, TaxabilityReason: "product_exempt", DisplayName: "Sales tax (Colorado)", Percentage: decimal.Zero,
			Jurisdiction: "Colorado", JurisdictionLevel: "state", TaxType: "sales_tax", Country: "US", State: "CO"},
		{Amount: 722, TaxableAmount: 15000, TaxabilityReason: "standard_rated", DisplayName: "Sales tax (Denver (local))", Percentage: decimal.RequireFromString("4.81"),
			Jurisdiction: "Denver (local)", JurisdictionLevel: "city", TaxType: "sales_tax", Country: "US", State: "CO"},
	}
	return []billing.Line{
		// A mapped product with an integer quantity: price_data with an exact unit amount.
		{LineID: "l1", Description: "Platform fee", Currency: "usd", Amount: 15000, ProductRef: "prod_NWjs8kKbJWmuuc",
			Quantity: decimal.NullDecimal{Decimal: decimal.NewFromInt(3), Valid: true}, PeriodStart: start, PeriodEnd: end, Taxes: denver},
		// A decimal quantity: amount with quantity 1.
		{LineID: "l2", Description: "API calls (quantity 12.5 × 0.20)", Currency: "usd", Amount: 250,
			Quantity: decimal.NullDecimal{Decimal: decimal.RequireFromString("12.5"), Valid: true}, PeriodStart: start, PeriodEnd: end},
		// A credit.
		{LineID: "l3", Description: "Credit", Currency: "usd", Amount: -500, ProductRef: "prod_NWjs8kKbJWmuuc", PeriodStart: start, PeriodEnd: end},
	}
}

// TestStripeAcceptsEveryRequestTaxflowSends drives the provider through the exact sequence of
// calls an invoice makes — look for an earlier draft, create the draft, add lines with
// tax_amounts, read it back, rewrite line taxes, finalize, void — against stripe-mock.
func TestStripeAcceptsEveryRequestTaxflowSends(t *testing.T) {
	base := startStripeMock(t)
	rec := &recorder{next: http.DefaultTransport}
	p := New(Config{APIKey: "sk_test_123", BaseURL: base, HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second}})
	ctx := context.Background()

	call := billing.Call{InvoiceID: "inv_contract", Attempt: "r0a2", Retried: true}
	draft, err := p.CreateDraft(ctx, call, billing.Draft{
		CustomerRef: "cus_contract", Currency: "usd", CollectionMethod: "send_invoice",
		DaysUntilDue: 30, Description: "November usage", Metadata: map[string]string{"source": "contract"},
		ReceivedAt: time.Now(),
	})
	if err != nil {
		t.Fatalf("create draft: %v", err)
	}
	lines := demoLines()
	if _, err := p.WriteLines(ctx, call, draft.ID, lines, &billing.Invoice{ID: draft.ID, Status: "draft"}); err != nil {
		t.Fatalf("add lines: %v", err)
	}
	// The tax of a line changed: the line is rewritten through update_lines.
	known := billing.Invoice{ID: draft.ID, Status: "draft", Lines: []billing.InvoiceLine{
		{ID: "il_1", LineID: "l1", Taxes: []int64{700}}, {ID: "il_2", LineID: "l2"}, {ID: "il_3", LineID: "l3"},
	}}
	if _, err := p.WriteLines(ctx, call, draft.ID, lines, &known); err != nil {
		t.Fatalf("update line taxes: %v", err)
	}
	if _, err := p.WriteLines(ctx, call, draft.ID, lines, nil); err != nil {
		t.Fatalf("write lines after reading the draft: %v", err)
	}
	if _, err := p.Finalize(ctx, call, draft.ID); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := p.Void(ctx, call, draft.ID); err != nil {
		t.Fatalf("void: %v", err)
	}
	// The other shapes an invoice can take: effective_at aligned to the period and automatic
	// tax (stripe_app), automatic tax turned off at the deadline, a skipped draft deleted.
	appDraft, err := p.CreateDraft(ctx, billing.Call{InvoiceID: "inv_contract_app", Attempt: "r0a1"}, billing.Draft{
		CustomerRef: "cus_contract", Currency: "usd", CollectionMethod: "charge_automatically",
		EffectiveAt: time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC), AutomaticTax: true,
	})
	if err != nil {
		t.Fatalf("create an automatic-tax draft: %v", err)
	}
	if _, err := p.WriteLines(ctx, billing.Call{InvoiceID: "inv_contract_app", Attempt: "r0a1"}, appDraft.ID,
		[]billing.Line{{LineID: "l1", Description: "Collapsed", Currency: "usd", Amount: 1000, PlainAmount: true, ProductRef: "prod_NWjs8kKbJWmuuc"}},
		&billing.Invoice{ID: appDraft.ID, Status: "draft"}); err != nil {
		t.Fatalf("lines without tax: %v", err)
	}
	if _, err := p.DisableAutomaticTax(ctx, billing.Call{InvoiceID: "inv_contract_app", Attempt: "r0a1"}, appDraft.ID); err != nil {
		t.Fatalf("disable automatic tax: %v", err)
	}
	if err := p.DeleteDraft(ctx, billing.Call{InvoiceID: "inv_contract_app", Attempt: "r0a1"}, appDraft.ID); err != nil {
		t.Fatalf("delete draft: %v", err)
	}
	want := []string{
		"GET /v1/invoices",
		"POST /v1/invoices",
		"POST /v1/invoices/" + draft.ID + "/add_lines",
		"POST /v1/invoices/" + draft.ID + "/update_lines",
		"GET /v1/invoices/" + draft.ID,
	}
	got := strings.Join(rec.calls, "\n")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("no %q among the calls:\n%s", w, got)
		}
	}
	for _, k := range rec.keys {
		if len(k) > 255 || !strings.HasPrefix(k, "taxflow/inv_contract") {
			t.Errorf("idempotency key %q is not derived from the invoice", k)
		}
	}
}

func TestIdempotencyKeysAreDerivedNotRandom(t *testing.T) {
	first := billing.Call{InvoiceID: "inv_1", Attempt: "r0a1"}
	a := idempotencyKey(first, "create-draft", "cus_1", "usd")
	b := idempotencyKey(first, "create-draft", "cus_1", "usd")
	c := idempotencyKey(first, "create-draft", "cus_2", "usd")
	d := idempotencyKey(billing.Call{InvoiceID: "inv_1", Attempt: "r0a2"}, "create-draft", "cus_1", "usd")
	if a != b || a == c || a == d {
		t.Fatalf("keys %q %q %q %q", a, b, c, d)
	}
	long := idempotencyKey(billing.Call{InvoiceID: strings.Repeat("x", 100), Attempt: "r999a999"}, "update-line-taxes", "p")
	if len(long) > 255 {
		t.Fatalf("key of %d characters", len(long))
	}
}

func TestStripeQuantityRule(t *testing.T) {
	q := func(s string) decimal.NullDecimal {
		return decimal.NullDecimal{Decimal: decimal.RequireFromString(s), Valid: true}
	}
	cases := []struct {
		name string
		line billing.Line
		qty  int64
		unit string
		ok   bool
	}{
		{"integer quantity divides", billing.Line{ProductRef: "prod", Amount: 15000, Quantity: q("3")}, 3, "5000", true},
		{"unit price that does not divide exactly is quantity 1", billing.Line{ProductRef: "prod", Amount: 100, Quantity: q("3")}, 1, "100", true},
		{"decimal quantity is quantity 1", billing.Line{ProductRef: "prod", Amount: 250, Quantity: q("12.5")}, 1, "250", true},
		{"no Stripe product: plain amount", billing.Line{Amount: 250, Quantity: q("2")}, 0, "0", false},
		{"credits are plain amounts", billing.Line{ProductRef: "prod", Amount: -5}, 0, "0", false},
	}
	for _, c := range cases {
		qty, unit, ok := stripeQuantity(c.line)
		if ok != c.ok || (ok && (qty != c.qty)) {
			t.Errorf("%s: got %d %s %v", c.name, qty, unit, ok)
		}
		if ok && unit.String() != c.unit {
			t.Errorf("%s: unit %s, want %s", c.name, unit, c.unit)
		}
	}
}
