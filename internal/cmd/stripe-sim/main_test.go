package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
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
