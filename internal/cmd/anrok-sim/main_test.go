package main

import (
	"bytes"
	"context"
	"flag"
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

	"github.com/taxflow/taxflow/internal/anroksim"
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
	assert.Equal(t, 10, cfg.sim.RequestsPerSecond, "the default is Anrok's real limit")
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

func TestFaultSettingsComeFromTheEnvironment(t *testing.T) {
	env := map[string]string{
		"ANROK_SIM_FAULT_RATE_5XX":      "0.1",
		"ANROK_SIM_FAULT_RATE_EXTERNAL": "0.05",
		"ANROK_SIM_FAULT_RATE_TIMEOUT":  "0.02",
		"ANROK_SIM_TIMEOUT_DELAY":       "3s",
		"ANROK_SIM_LATENCY":             "150ms",
		"ANROK_SIM_FORCE_409":           "createOrUpdate=customerAddressCouldNotResolve,externalServiceError:2",
		"ANROK_SIM_FORCE_FROZEN":        "true",
		"ANROK_SIM_NO_NEXUS":            "us-FL, au",
	}
	cfg, err := parseConfig(nil, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	o := cfg.sim
	assert.Equal(t, anroksim.FaultRates{ServerError: 0.1, ExternalServiceError: 0.05, Timeout: 0.02, TimeoutDelay: 3 * time.Second}, o.FaultRates)
	assert.Equal(t, 150*time.Millisecond, o.Latency)
	assert.Equal(t, []anroksim.ForcedConflict{
		{Code: "customerAddressCouldNotResolve", Endpoint: "transactions/createOrUpdate"},
		{Code: "externalServiceError", Count: 2},
	}, o.ForcedConflicts)
	assert.Equal(t, anroksim.FreezeOnCommit{All: true}, o.FreezeOnCommit)
	assert.Equal(t, []string{"us-FL", "au"}, o.NoNexus)

	cfg, err = parseConfig([]string{"-force-frozen", "stripe:in_1,stripe:in_2", "-latency", "0s"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, anroksim.FreezeOnCommit{IDs: []string{"stripe:in_1", "stripe:in_2"}}, cfg.sim.FreezeOnCommit)
	assert.Zero(t, cfg.sim.Latency, "a flag wins over the environment")
}

func TestBadFaultSettingsAreRefused(t *testing.T) {
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"-fault-rate-5xx", "often"},
		{"-fault-rate-5xx", "1.5"},
		{"-fault-rate-5xx", "0.6", "-fault-rate-timeout", "0.6"},
		{"-latency", "soon"},
		{"-latency", "-1s"},
		{"-timeout-delay", "x"},
		{"-force-409", "nowhere=externalServiceError"},
		{"-force-409", "externalServiceError:0"},
		{"-no-nexus", "us-XX"},
	} {
		_, err := parseConfig(args, none, io.Discard)
		assert.Error(t, err, args)
	}
}

func TestHelpDocumentsFaultInjection(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-help"}, func(string) string { return "" }, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	help := out.String()
	for _, want := range []string{
		"ANROK_SIM_FAULT_RATE_5XX", "ANROK_SIM_FAULT_RATE_TIMEOUT", "ANROK_SIM_LATENCY", "ANROK_SIM_FORCE_409",
		"ANROK_SIM_FORCE_FROZEN", "ANROK_SIM_RPS", "/_sim/faults/conflicts", "transactionFrozenForFiling",
		"transactions/createOrUpdate", "certificates/archive", "not tax advice", "per API key",
	} {
		assert.Contains(t, help, want)
	}
}

// The binary's settings reach the simulator it serves: here a forced 409 and a limit of
// 2 requests per second per key.
func TestServedSimulatorAppliesTheFaultSettings(t *testing.T) {
	env := map[string]string{"ANROK_SIM_FORCE_409": "externalServiceError:1", "ANROK_SIM_RPS": "2"}
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, slog.New(slog.DiscardHandler), func(a net.Addr) { addrs <- a }) }()
	base := "http://" + (<-addrs).String()

	call := func(key string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/seller/productTaxCategories/list", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := call("a")
	assert.Equal(t, http.StatusConflict, status)
	assert.JSONEq(t, `{"type":"externalServiceError"}`, body)
	throttled := 0
	for range 4 {
		if status, _ := call("a"); status == http.StatusTooManyRequests {
			throttled++
		}
	}
	assert.Positive(t, throttled, "5 calls of one key within a second exceed 2 per second")
	status, _ = call("b")
	assert.Equal(t, http.StatusOK, status, "another key has its own limit")

	cancel()
	require.NoError(t, <-done)
}
