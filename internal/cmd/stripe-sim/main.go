// Command stripe-sim serves the Stripe test-mode simulator (package stripesim) over HTTP, so
// taxflow and its developers can run the whole flow without a Stripe account:
//
//	stripe-sim -addr 127.0.0.1:8092 [-api-key sk_test_...] [-rps 25] [-control-token T]
//	           [-webhook-url http://127.0.0.1:8080/webhooks/stripe -webhook-secret whsec_...]
//	           [-webhook-attempts 5] [-webhook-backoff 1s]
//	           [-automatic-tax-provider anrok] [-automatic-tax-delay 200ms] [-automatic-tax-outcome complete]
//
// Every flag can also come from the environment (STRIPE_SIM_ADDR, STRIPE_SIM_API_KEY,
// STRIPE_SIM_RPS, STRIPE_SIM_CONTROL_TOKEN, STRIPE_SIM_LOG_LEVEL, STRIPE_SIM_LOG_FORMAT,
// STRIPE_SIM_WEBHOOK_URL, STRIPE_SIM_WEBHOOK_SECRET, STRIPE_SIM_WEBHOOK_ATTEMPTS,
// STRIPE_SIM_WEBHOOK_BACKOFF, STRIPE_SIM_AUTOMATIC_TAX_PROVIDER, STRIPE_SIM_AUTOMATIC_TAX_DELAY,
// STRIPE_SIM_AUTOMATIC_TAX_OUTCOME); a flag wins over its variable. Point stripe-go at it with
// stripe.BackendConfig{URL: "http://127.0.0.1:8092"}.
//
// -webhook-url and -webhook-secret give every account the same webhook endpoint (PUT
// /_sim/webhooks sets one per account at run time). The binary plays the Anrok Stripe app for
// automatic tax by default (provider "anrok"), for taxflow's stripe_app tax mode; the
// package default is Stripe's own tax engine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"

	"github.com/taxflow/taxflow/internal/stripesim"
)

// config is the simulator's configuration. The API key and control token are secrets: they
// are never logged.
type config struct {
	Addr   string `env:"STRIPE_SIM_ADDR" envDefault:"127.0.0.1:8092"`
	APIKey string `env:"STRIPE_SIM_API_KEY"`
	// RPS defaults to Stripe's test-mode limit, so the sandbox pushes back like Stripe does.
	RPS          int    `env:"STRIPE_SIM_RPS" envDefault:"25"`
	ControlToken string `env:"STRIPE_SIM_CONTROL_TOKEN"`
	LogLevel     string `env:"STRIPE_SIM_LOG_LEVEL" envDefault:"info"`
	LogFormat    string `env:"STRIPE_SIM_LOG_FORMAT" envDefault:"text"`
	// WebhookURL and WebhookSecret (a secret: never logged) name every account's endpoint.
	WebhookURL      string        `env:"STRIPE_SIM_WEBHOOK_URL"`
	WebhookSecret   string        `env:"STRIPE_SIM_WEBHOOK_SECRET"`
	WebhookAttempts int           `env:"STRIPE_SIM_WEBHOOK_ATTEMPTS" envDefault:"5"`
	WebhookBackoff  time.Duration `env:"STRIPE_SIM_WEBHOOK_BACKOFF" envDefault:"1s"`
	// The simulated Anrok Stripe app.
	TaxProvider string        `env:"STRIPE_SIM_AUTOMATIC_TAX_PROVIDER" envDefault:"anrok"`
	TaxDelay    time.Duration `env:"STRIPE_SIM_AUTOMATIC_TAX_DELAY" envDefault:"200ms"`
	TaxOutcome  string        `env:"STRIPE_SIM_AUTOMATIC_TAX_OUTCOME" envDefault:"complete"`
}

// shutdownGrace is how long in-flight requests may take to finish on shutdown.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], environ(), os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "stripe-sim:", err)
		os.Exit(1)
	}
}

func environ() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// run serves until ctx ends, then shuts down gracefully. ready, when not nil, receives the
// address the simulator listens on.
func run(ctx context.Context, args []string, environment map[string]string, logOut io.Writer, ready chan<- string) error {
	cfg, err := env.ParseAsWithOptions[config](env.Options{Environment: environment})
	if err != nil {
		return fmt.Errorf("reading the environment: %w", err)
	}
	fs := flag.NewFlagSet("stripe-sim", flag.ContinueOnError)
	fs.SetOutput(logOut)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (STRIPE_SIM_ADDR)")
	fs.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "the only secret key accepted; empty accepts any sk_test_ key, one account per key (STRIPE_SIM_API_KEY)")
	fs.IntVar(&cfg.RPS, "rps", cfg.RPS, "requests per second per account; 0 is unlimited (STRIPE_SIM_RPS)")
	fs.StringVar(&cfg.ControlToken, "control-token", cfg.ControlToken, "bearer token for the /_sim/ endpoints; empty leaves them open (STRIPE_SIM_CONTROL_TOKEN)")
	fs.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (STRIPE_SIM_LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (STRIPE_SIM_LOG_FORMAT)")
	fs.StringVar(&cfg.WebhookURL, "webhook-url", cfg.WebhookURL, "webhook endpoint of every account; empty sends no webhooks (STRIPE_SIM_WEBHOOK_URL)")
	fs.StringVar(&cfg.WebhookSecret, "webhook-secret", cfg.WebhookSecret, "whsec_ signing secret of -webhook-url (STRIPE_SIM_WEBHOOK_SECRET)")
	fs.IntVar(&cfg.WebhookAttempts, "webhook-attempts", cfg.WebhookAttempts, "attempts per webhook delivery (STRIPE_SIM_WEBHOOK_ATTEMPTS)")
	fs.DurationVar(&cfg.WebhookBackoff, "webhook-backoff", cfg.WebhookBackoff, "wait before the first webhook retry, doubled for each further one (STRIPE_SIM_WEBHOOK_BACKOFF)")
	fs.StringVar(&cfg.TaxProvider, "automatic-tax-provider", cfg.TaxProvider, "automatic tax provider: anrok (the simulated Anrok app) or stripe (STRIPE_SIM_AUTOMATIC_TAX_PROVIDER)")
	fs.DurationVar(&cfg.TaxDelay, "automatic-tax-delay", cfg.TaxDelay, "how long the Anrok app takes to compute a draft's tax (STRIPE_SIM_AUTOMATIC_TAX_DELAY)")
	fs.StringVar(&cfg.TaxOutcome, "automatic-tax-outcome", cfg.TaxOutcome, "how the Anrok app's calculations end: complete, never or failed (STRIPE_SIM_AUTOMATIC_TAX_OUTCOME)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if cfg.RPS < 0 {
		return fmt.Errorf("-rps must be 0 or more, got %d", cfg.RPS)
	}
	if cfg.APIKey != "" && !strings.HasPrefix(cfg.APIKey, "sk_test_") {
		return errors.New("-api-key must be a test-mode secret key (sk_test_...): the simulator is Stripe's test mode")
	}
	var webhooks func(string) (string, string)
	switch {
	case cfg.WebhookURL != "":
		ep := stripesim.WebhookEndpoint{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret}
		if err := ep.Validate(); err != nil {
			return fmt.Errorf("-webhook-url/-webhook-secret: %w", err)
		}
		webhooks = func(string) (string, string) { return ep.URL, ep.Secret }
	case cfg.WebhookSecret != "":
		return errors.New("-webhook-secret needs -webhook-url")
	}
	if cfg.WebhookAttempts < 1 {
		return fmt.Errorf("-webhook-attempts must be 1 or more, got %d", cfg.WebhookAttempts)
	}
	if cfg.WebhookBackoff <= 0 || cfg.TaxDelay <= 0 {
		return errors.New("-webhook-backoff and -automatic-tax-delay must be positive")
	}
	if cfg.TaxProvider != "anrok" && cfg.TaxProvider != "stripe" {
		return fmt.Errorf("-automatic-tax-provider must be anrok or stripe, got %q", cfg.TaxProvider)
	}
	outcome := stripesim.AutomaticTaxOutcome(cfg.TaxOutcome)
	switch outcome {
	case stripesim.AutomaticTaxCompletes, stripesim.AutomaticTaxNeverCompletes, stripesim.AutomaticTaxFails:
	default:
		return fmt.Errorf("-automatic-tax-outcome must be complete, never or failed, got %q", cfg.TaxOutcome)
	}
	logger, err := newLogger(logOut, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}

	sim := stripesim.New(stripesim.Options{
		APIKey: cfg.APIKey, RequestsPerSecond: cfg.RPS, ControlToken: cfg.ControlToken, Logger: logger,
		Webhooks: webhooks, WebhookMaxAttempts: cfg.WebhookAttempts, WebhookRetryBackoff: cfg.WebhookBackoff,
		AutomaticTaxProvider: cfg.TaxProvider, AutomaticTaxDelay: cfg.TaxDelay, AutomaticTaxOutcome: outcome,
	})
	defer sim.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("stripe simulator listening",
		"addr", ln.Addr().String(), "api_version", stripesim.APIVersion, "requests_per_second", cfg.RPS,
		"api_key_restricted", cfg.APIKey != "", "control_token_set", cfg.ControlToken != "",
		"webhook_url", cfg.WebhookURL, "automatic_tax_provider", cfg.TaxProvider, "automatic_tax_delay", cfg.TaxDelay,
		"automatic_tax_outcome", cfg.TaxOutcome)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("stripe simulator shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	// Deliveries already queued get the rest of the grace period.
	if err := sim.FlushWebhooks(shutdownCtx); err != nil {
		logger.Warn("webhook deliveries dropped at shutdown", "error", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad log format %q: want text or json", format)
}
