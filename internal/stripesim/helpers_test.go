package stripesim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

const testKey = "sk_test_taxflowsim_abcd"

// testStart is the simulated time every test starts at.
var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness is a simulator behind a real HTTP server, driven with the real stripe-go client.
type harness struct {
	t   *testing.T
	sim *Server
	url string
	ctx context.Context
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return testStart }
	}
	sim := New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{t: t, sim: sim, url: srv.URL, ctx: context.Background()}
}

// client is how taxflow builds its Stripe client, pointed at the simulator.
func (h *harness) client(key string) *stripe.Client {
	return h.clientWith(key, nil)
}

// clientWith uses a given HTTP client (nil: stripe-go's default).
func (h *harness) clientWith(key string, hc *http.Client) *stripe.Client {
	return stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(h.url),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
}

func (h *harness) customer(sc *stripe.Client) *stripe.Customer {
	h.t.Helper()
	c, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{
		Name:  stripe.String("Acme Corp"),
		Email: stripe.String("billing@acme.test"),
		Address: &stripe.AddressParams{
			Line1: stripe.String("1 Market St"), City: stripe.String("San Francisco"),
			State: stripe.String("CA"), PostalCode: stripe.String("94105"), Country: stripe.String("US"),
		},
	})
	require.NoError(h.t, err)
	return c
}

func (h *harness) draft(sc *stripe.Client, customerID string) *stripe.Invoice {
	h.t.Helper()
	inv, err := sc.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{
		Customer: stripe.String(customerID), Currency: stripe.String("usd"), AutoAdvance: stripe.Bool(false),
	})
	require.NoError(h.t, err)
	return inv
}

// amountLine is a line priced by a bare amount.
func amountLine(amount int64, description string) *stripe.InvoiceAddLinesLineParams {
	return &stripe.InvoiceAddLinesLineParams{Amount: stripe.Int64(amount), Description: stripe.String(description)}
}

// salesTax is a tax amount the way taxflow writes Anrok's results onto a line.
func salesTax(amount, taxable int64, percentage float64, jurisdiction, level string) *stripe.InvoiceAddLinesLineTaxAmountParams {
	return &stripe.InvoiceAddLinesLineTaxAmountParams{
		Amount: stripe.Int64(amount), TaxableAmount: stripe.Int64(taxable),
		TaxabilityReason: stripe.String("standard_rated"),
		TaxRateData: &stripe.InvoiceAddLinesLineTaxAmountTaxRateDataParams{
			DisplayName: stripe.String("Sales tax"), Inclusive: stripe.Bool(false), Percentage: stripe.Float64(percentage),
			Jurisdiction: stripe.String(jurisdiction), JurisdictionLevel: stripe.String(level),
			TaxType: stripe.String("sales_tax"), Country: stripe.String("US"), State: stripe.String("CA"),
		},
	}
}

func (h *harness) addLines(sc *stripe.Client, invoiceID string, lines ...*stripe.InvoiceAddLinesLineParams) *stripe.Invoice {
	h.t.Helper()
	inv, err := sc.V1Invoices.AddLines(h.ctx, invoiceID, &stripe.InvoiceAddLinesParams{Lines: lines})
	require.NoError(h.t, err)
	return inv
}

// stripeError asserts err is Stripe's error with the given status and returns it.
func stripeError(t *testing.T, err error, status int) *stripe.Error {
	t.Helper()
	require.Error(t, err)
	var se *stripe.Error
	require.True(t, errors.As(err, &se), "not a *stripe.Error: %v", err)
	require.Equal(t, status, se.HTTPStatusCode, "message: %s", se.Msg)
	return se
}

// raw sends a request the way a hand-written client would, for what stripe-go refuses to
// send (a 256-character idempotency key) or to look at headers.
func (h *harness) raw(method, path, key, body string, header map[string]string) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	require.NoError(h.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return resp, string(b)
}
