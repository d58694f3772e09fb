package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagsOverrideTheEnvironment(t *testing.T) {
	env := map[string]string{"ANROK_SIM_ADDR": "127.0.0.1:9999", "ANROK_SIM_RPS": "10", "ANROK_SIM_API_KEY": "from-env"}
	cfg, err := parseConfig([]string{"-rps", "5"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9999", cfg.addr)
	assert.Equal(t, 5, cfg.sim.RequestsPerSecond)
	assert.Equal(t, "from-env", cfg.sim.APIKey)
	assert.Equal(t, slog.LevelInfo, cfg.logLevel)

	cfg, err = parseConfig(nil, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8091", cfg.addr)
	assert.Equal(t, 0, cfg.sim.RequestsPerSecond)
}

func TestBadConfigurationIsRefused(t *testing.T) {
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"-rps", "ten"},
		{"-rps", "-1"},
		{"-seller-time-zone", "Nowhere/Land"},
		{"-log-level", "loud"},
		{"extra"},
	} {
		_, err := parseConfig(args, none, io.Discard)
		assert.Error(t, err, args)
	}
}

func TestServesTheSimulatorAndStopsGracefully(t *testing.T) {
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-api-key", "k"}, func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, logger, func(a net.Addr) { addrs <- a }) }()
	addr := <-addrs

	body := `{"lineItems":[{"id":"item-1","productExternalId":"saas-product-1","amount":15000}],"currencyCode":"USD",
		"customerAddress":{"line1":"1450 Cherokee St","city":"Denver","region":"CO","postalCode":"80204","country":"US"}}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/v1/seller/transactions/createEphemeral", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(out), `"taxAmount":"721.5"`)

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the simulator did not stop")
	}
	logged := logs.String()
	assert.Contains(t, logged, "path=/v1/seller/transactions/createEphemeral")
	assert.Contains(t, logged, "status=200")
	assert.NotContains(t, logged, "Cherokee", "addresses never reach the log")
	assert.NotContains(t, logged, "Bearer")
}

// syncWriter serialises writes from the server's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
