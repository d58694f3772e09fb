package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"
)

// syncBuffer lets the test read the log while the server writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The binary serves Stripe's API on the configured address, never logs the key, and stops
// cleanly when asked.
func TestRunServesUntilCancelledWithoutLoggingTheKey(t *testing.T) {
	const key = "sk_test_cmdtest_secret_4242"
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-rps", "0"},
			map[string]string{"STRIPE_SIM_API_KEY": key, "STRIPE_SIM_LOG_FORMAT": "json"}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the simulator did not start")
	}

	sc := stripe.NewClient(key, stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String("http://" + addr), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
	cus, err := sc.V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{Name: stripe.String("Acme")})
	require.NoError(t, err)
	assert.Equal(t, "Acme", cus.Name)
	other := stripe.NewClient("sk_test_someone_else_0000", stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String("http://" + addr), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
	_, err = other.V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{})
	require.Error(t, err, "-api-key restricts the simulator to one key")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("the simulator did not shut down")
	}
	assert.Contains(t, logs.String(), "stripe simulator listening")
	assert.Contains(t, logs.String(), "/v1/customers")
	assert.NotContains(t, logs.String(), key)
}

func TestRunRefusesLiveKeysAndBadFlags(t *testing.T) {
	var logs syncBuffer
	err := run(context.Background(), []string{"-api-key", "sk_live_123"}, nil, &logs, nil)
	assert.ErrorContains(t, err, "test-mode")
	err = run(context.Background(), []string{"-rps", "-1"}, nil, &logs, nil)
	assert.Error(t, err)
	err = run(context.Background(), []string{"-log-format", "xml"}, nil, &logs, nil)
	assert.Error(t, err)
}

// -webhook-url and -webhook-secret give every account an endpoint: events arrive signed with
// the secret, which never appears in the log. The binary plays the Anrok app by default.
func TestRunDeliversWebhooksFromFlags(t *testing.T) {
	const secret = "whsec_cmdtest_secret_9876"
	type delivery struct {
		body []byte
		sig  string
	}
	got := make(chan delivery, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{b, r.Header.Get("Stripe-Signature")}
	}))
	defer receiver.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-webhook-url", receiver.URL, "-automatic-tax-delay", "10ms"},
			map[string]string{"STRIPE_SIM_WEBHOOK_SECRET": secret}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	}
	sc := stripe.NewClient("sk_test_any_account_1234", stripe.WithBackends(stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL: stripe.String("http://" + addr), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})))
	cus, err := sc.V1Customers.Create(context.Background(), &stripe.CustomerCreateParams{Name: stripe.String("Acme")})
	require.NoError(t, err)
	inv, err := sc.V1Invoices.Create(context.Background(), &stripe.InvoiceCreateParams{
		Customer: stripe.String(cus.ID), AutomaticTax: &stripe.InvoiceCreateAutomaticTaxParams{Enabled: stripe.Bool(true)},
	})
	require.NoError(t, err)
	assert.Equal(t, "anrok", inv.AutomaticTax.Provider)

	select {
	case d := <-got:
		ev, err := webhook.ConstructEvent(d.body, d.sig, secret)
		require.NoError(t, err)
		assert.Equal(t, stripe.EventType("customer.created"), ev.Type)
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook arrived")
	}
	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, logs.String(), secret)
}

func TestRunRefusesBadWebhookAndTaxFlags(t *testing.T) {
	var logs syncBuffer
	for _, args := range [][]string{
		{"-webhook-secret", "whsec_x"},
		{"-webhook-url", "http://127.0.0.1:1/hook", "-webhook-secret", "nope"},
		{"-webhook-url", "not a url", "-webhook-secret", "whsec_x"},
		{"-webhook-attempts", "0"},
		{"-automatic-tax-provider", "avalara"},
		{"-automatic-tax-outcome", "sometimes"},
		{"-automatic-tax-delay", "0s"},
	} {
		assert.Error(t, run(context.Background(), args, nil, &logs, nil), "%v", args)
	}
}
