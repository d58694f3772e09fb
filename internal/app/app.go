// Package app wires taxflow's processes from configuration: logging, the database, the
// secret keyring, the Temporal client and the activities with their real providers. The
// binaries (worker/, starter/) and the end-to-end tests build the same objects through it,
// so what is tested is what runs.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/billing/stripebilling"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/internal/estimate"
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

// DialTemporal connects to the Temporal frontend, retrying for up to wait (the server may
// still be starting).
func DialTemporal(ctx context.Context, cfg config.Config, logger *slog.Logger, wait time.Duration) (client.Client, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  cfg.TemporalAddress,
			Namespace: cfg.TemporalNamespace,
			Logger:    log.NewStructuredLogger(logger),
		})
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
// own timeout bounds the whole attempt).
func HTTPClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second}
}

// NewEstimator builds the tax estimator with the real Anrok engine.
func NewEstimator(cfg config.Config, st *store.Store, keys *secretbox.Keyring) *estimate.Estimator {
	acts := NewActivities(cfg, st, keys, nil, nil)
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
func NewActivities(cfg config.Config, st *store.Store, keys *secretbox.Keyring, logger *slog.Logger, hc *http.Client) *activities.Activities {
	if hc == nil {
		hc = HTTPClient()
	}
	return &activities.Activities{
		Store:          st,
		Secrets:        keys,
		DefaultTaxWait: cfg.TaxWait,
		Log:            logger,
		Billing: func(acct sqldb.StripeAccount, apiKey string) billing.Provider {
			return stripebilling.New(stripebilling.Config{APIKey: apiKey, BaseURL: deref(acct.BaseUrl), HTTPClient: hc})
		},
		TaxEngine: func(conn sqldb.AnrokConnection, apiKey string) tax.Engine {
			return anroktax.New(anrok.New(anrok.Config{BaseURL: deref(conn.BaseUrl), APIKey: apiKey, HTTPClient: hc, UserAgent: "taxflow"}))
		},
	}
}

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
	Store    *store.Store
	Temporal client.Client
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
	st, err := OpenStore(ctx, cfg, logger)
	if err != nil {
		fail("database unavailable", err, 1)
	}
	tc, err := DialTemporal(ctx, cfg, logger, time.Minute)
	if err != nil {
		st.Close()
		fail("temporal unavailable", err, 1)
	}
	return &Process{Config: cfg, Log: logger, Secrets: keys, Store: st, Temporal: tc}
}

// Close releases the process's connections.
func (p *Process) Close() {
	p.Temporal.Close()
	p.Store.Close()
}
