// Package app wires taxflow's processes from configuration: logging, the database, the
// secret keyring, the Temporal client and the activities with their real providers. The
// binaries (worker/, starter/) and the end-to-end tests build the same objects through it,
// so what is tested is what runs.
package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/billing/stripebilling"
	"github.com/taxflow/taxflow/internal/codec"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/estimate"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
	"github.com/taxflow/taxflow/internal/tax/anroktax"
	"github.com/taxflow/taxflow/workflows"
)

// NewLogger builds the process logger: text for development, JSON for production.
func NewLogger(cfg config.Config, process string) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	} else {
		h = slog.NewTextHandler(os.Stderr, opts)
	}
	return slog.New(h).With("process", process)
}

// LoadConfig reads and validates the configuration for role; on error it prints every
// problem, naming the variable, and exits.
func LoadConfig(role config.Role) config.Config {
	cfg, err := config.Load()
	if err == nil {
		err = cfg.Validate(role)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "taxflow: bad configuration:\n%v\n", err)
		os.Exit(2)
	}
	return cfg
}

// Keyring builds the secret keyring from TAXFLOW_SECRET_KEY.
func Keyring(cfg config.Config) (*secretbox.Keyring, error) {
	return secretbox.FromEnv(cfg.SecretKeys)
}

// OpenStore connects to Postgres and applies migrations.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*store.Store, error) {
	return store.Open(ctx, cfg.DatabaseURL, log)
}

// ClientOptions are the Temporal client options of every taxflow process: the encrypting
// data converter, and Temporal Cloud's API key or mTLS when configured.
func ClientOptions(cfg config.Config, cdc *codec.Codec, m *metrics.Metrics, logger *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:         cfg.TemporalAddress,
		Namespace:        cfg.TemporalNamespace,
		Logger:           log.NewStructuredLogger(logger),
		DataConverter:    cdc.DataConverter(),
		FailureConverter: cdc.FailureConverter(),
		MetricsHandler:   m.TemporalMetricsHandler(),
	}
	tlsConfig, err := temporalTLS(cfg)
	if err != nil {
		return opts, err
	}
	if cfg.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	opts.ConnectionOptions.TLS = tlsConfig
	// No gzip on requests to Temporal (the SDK's default): taxflow's payloads are encrypted
	// by the codec and do not compress, so gzip only burns CPU on both ends (make bench
	// measured it among the worker's largest costs).
	opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	return opts, nil
}

func temporalTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TemporalTLSCert == "" && cfg.TemporalTLSCA == "" && cfg.TemporalTLSServerName == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TemporalTLSServerName}
	if cfg.TemporalTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TemporalTLSCert, cfg.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CLIENT_CERT_PATH/TEMPORAL_TLS_CLIENT_KEY_PATH: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if cfg.TemporalTLSCA != "" {
		pem, err := os.ReadFile(cfg.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_SERVER_CA_CERT_PATH: no certificate in %s", cfg.TemporalTLSCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// DialTemporal connects to the Temporal frontend, retrying for up to wait (the server may
// still be starting).
func DialTemporal(ctx context.Context, cfg config.Config, cdc *codec.Codec, m *metrics.Metrics, logger *slog.Logger, wait time.Duration) (client.Client, error) {
	opts, err := ClientOptions(cfg, cdc, m, logger)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s (TEMPORAL_ADDRESS): %w", cfg.TemporalAddress, err)
		}
		logger.Info("waiting for Temporal", "address", cfg.TemporalAddress, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// HTTPClient is the client provider calls use: a bounded timeout per request (the activity's
// own timeout bounds the whole attempt), and room to keep the connections that concurrent
// activities open. Go's default transport keeps 2 idle connections per host: a worker with
// dozens of Stripe or Anrok calls in flight would close most connections after each request
// and open — and TLS-handshake — new ones for the next.
func HTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = ProviderIdleConnections * 4
	t.MaxIdleConnsPerHost = ProviderIdleConnections
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}

// ProviderIdleConnections is how many idle connections a process keeps to each provider
// host: as many requests as it can have in flight to one host at a steady rate (Stripe live
// allows 100/s; at ~0.3 s each that is ~30 at once).
const ProviderIdleConnections = 64

// NewEstimator builds the tax estimator with the real Anrok engine.
func NewEstimator(cfg config.Config, st *store.Store, keys *secretbox.Keyring, m *metrics.Metrics) *estimate.Estimator {
	acts := NewActivities(cfg, st, keys, nil, m)
	return &estimate.Estimator{Store: st, Secrets: keys, TaxEngine: acts.TaxEngine}
}

// NewAlertActivities builds the outgoing webhooks' delivery activities.
func NewAlertActivities(st *store.Store, keys *secretbox.Keyring) *activities.AlertActivities {
	return &activities.AlertActivities{Store: st, Secrets: keys, HTTPClient: HTTPClient()}
}

// NewDispatcher builds the outbox dispatcher of outgoing webhooks (one per worker process;
// several share the outbox safely).
func NewDispatcher(cfg config.Config, st *store.Store, tc client.Client, logger *slog.Logger) *alerts.Dispatcher {
	return &alerts.Dispatcher{Store: st, Temporal: tc, TaskQueue: cfg.TaskQueue, Log: logger.With("component", "webhooks")}
}

// InvoiceClient is how a process starts and reaches invoice workflows.
func InvoiceClient(cfg config.Config, tc client.Client) workflows.Client {
	return workflows.Client{Temporal: tc, TaskQueue: cfg.TaskQueue, WatchPeriod: cfg.WatchPeriod}
}

// NewActivities builds the activities with the real Stripe and Anrok providers.
// SignalInvoice is left to the caller (it needs the Temporal client).
func NewActivities(cfg config.Config, st *store.Store, keys *secretbox.Keyring, logger *slog.Logger, m *metrics.Metrics) *activities.Activities {
	clients := newProviderClients(cfg, st, m)
	return &activities.Activities{
		Store:          st,
		Secrets:        keys,
		DefaultTaxWait: cfg.TaxWait,
		Log:            logger,
		Metrics:        m,
		Billing: func(acct sqldb.StripeAccount, apiKey string) billing.Provider {
			return stripebilling.New(stripebilling.Config{APIKey: apiKey, BaseURL: deref(acct.BaseUrl), HTTPClient: clients.forStripe(acct)})
		},
		TaxEngine: func(conn sqldb.AnrokConnection, apiKey string) tax.Engine {
			return anroktax.New(anrok.New(anrok.Config{BaseURL: deref(conn.BaseUrl), APIKey: apiKey, HTTPClient: clients.forAnrok(conn), UserAgent: "taxflow"}))
		},
	}
}

// WorkerOptions are the options of every worker running taxflow's activities: the
// interceptor that spares a rate-limited attempt's successor a look-up.
func WorkerOptions() worker.Options {
	return worker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.AttemptInterceptor{}}}
}

// StripeLimitKey and AnrokLimitKey name an account's send slots (internal/ratelimit).
func StripeLimitKey(accountID string) string   { return "stripe/" + accountID }
func AnrokLimitKey(connectionID string) string { return "anrok/" + connectionID }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Process is what both binaries start with: configuration, a logger, the keyring, the
// database (migrated) and a Temporal client.
type Process struct {
	Config   config.Config
	Log      *slog.Logger
	Secrets  *secretbox.Keyring
	Codec    *codec.Codec
	Store    *store.Store
	Temporal client.Client
	// Metrics is the process's Prometheus registry (served at /metrics).
	Metrics *metrics.Metrics
}

// Boot brings a process up, or prints why it cannot (naming the variable to fix) and exits.
func Boot(ctx context.Context, role config.Role, name string) *Process {
	cfg := LoadConfig(role)
	logger := NewLogger(cfg, name)
	fail := func(what string, err error, code int) {
		logger.Error(what, "error", err)
		os.Exit(code)
	}
	keys, err := Keyring(cfg)
	if err != nil {
		fail("bad secret key", err, 2)
	}
	cdc, err := codec.FromEnv(cfg.CodecKeys)
	if err != nil {
		fail("bad codec key", err, 2)
	}
	st, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		fail("database unavailable", err, 1)
	}
	m, _ := metrics.NewRegistry()
	tc, err := DialTemporal(ctx, cfg, cdc, m, logger, time.Minute)
	if err != nil {
		st.Close()
		fail("temporal unavailable", err, 1)
	}
	return &Process{Config: cfg, Log: logger, Secrets: keys, Codec: cdc, Store: st, Temporal: tc, Metrics: m}
}

// Readiness checks what the process needs: Postgres and Temporal.
func (p *Process) Readiness(ctx context.Context) map[string]error {
	_, temporalErr := p.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return map[string]error{"postgres": p.Store.Pool.Ping(ctx), "temporal": temporalErr}
}

// Close releases the process's connections.
func (p *Process) Close() {
	p.Temporal.Close()
	p.Store.Close()
}

// ExportInvoiceCounts sets the invoices-by-status gauge from Postgres every interval until
// ctx ends. One process exports it (the starter), so sums are not doubled.
func ExportInvoiceCounts(ctx context.Context, st *store.Store, m *metrics.Metrics, every time.Duration, logger *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rows, err := st.CountInvoicesByStatus(ctx)
		if err == nil {
			counts := make([]metrics.InvoiceCount, 0, len(rows))
			for _, r := range rows {
				counts = append(counts, metrics.InvoiceCount{Status: r.Status, TaxStatus: r.TaxStatus, N: r.N})
			}
			m.SetInvoiceCounts(counts)
		} else if ctx.Err() == nil {
			logger.Warn("invoice counts not exported", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
