// Command anrok-sim serves the Anrok simulator (package anroksim) over HTTP: the Anrok
// sandbox taxflow uses when no Anrok account is configured.
//
//	anrok-sim -addr 127.0.0.1:8091 [-api-key K] [-rps N] [-control-token T]
//	          [-seller-time-zone Z] [-seed S] [-log-level debug|info|warn|error]
//
// Every flag can also come from the environment (ANROK_SIM_ADDR, ANROK_SIM_API_KEY,
// ANROK_SIM_RPS, ANROK_SIM_CONTROL_TOKEN, ANROK_SIM_SELLER_TIME_ZONE, ANROK_SIM_SEED,
// ANROK_SIM_LOG_LEVEL); a flag on the command line wins. It stops gracefully on SIGINT or
// SIGTERM.
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
	"strconv"
	"syscall"
	"time"

	"github.com/taxflow/taxflow/internal/anroksim"
)

// shutdownGrace bounds how long in-flight requests (an injected delay, say) may hold up
// a stop.
const shutdownGrace = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "anrok-sim:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	if err := run(ctx, cfg, logger, nil); err != nil {
		logger.Error("anrok-sim stopped", "err", err)
		os.Exit(1)
	}
}

type config struct {
	addr     string
	logLevel slog.Level
	sim      anroksim.Options
}

// parseConfig reads flags, with defaults taken from the environment.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	env := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	fs := flag.NewFlagSet("anrok-sim", flag.ContinueOnError)
	fs.SetOutput(usage)
	addr := fs.String("addr", env("ANROK_SIM_ADDR", "127.0.0.1:8091"), "listen address (env ANROK_SIM_ADDR)")
	apiKey := fs.String("api-key", env("ANROK_SIM_API_KEY", ""), "the only API key accepted; empty accepts any (env ANROK_SIM_API_KEY)")
	rps := fs.String("rps", env("ANROK_SIM_RPS", "0"), "requests per second allowed, 0 for no limit; Anrok's is 10 (env ANROK_SIM_RPS)")
	controlToken := fs.String("control-token", env("ANROK_SIM_CONTROL_TOKEN", ""), "bearer token for the /_sim/ endpoints; empty leaves them open (env ANROK_SIM_CONTROL_TOKEN)")
	zone := fs.String("seller-time-zone", env("ANROK_SIM_SELLER_TIME_ZONE", "UTC"), "the seller's accounting time zone (env ANROK_SIM_SELLER_TIME_ZONE)")
	seed := fs.String("seed", env("ANROK_SIM_SEED", "1"), "seed of the random fault draws (env ANROK_SIM_SEED)")
	level := fs.String("log-level", env("ANROK_SIM_LOG_LEVEL", "info"), "debug, info, warn or error (env ANROK_SIM_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	cfg := config{addr: *addr}
	if err := cfg.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return config{}, fmt.Errorf("log level: %w", err)
	}
	n, err := strconv.Atoi(*rps)
	if err != nil {
		return config{}, fmt.Errorf("rps %q is not a number", *rps)
	}
	s, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		return config{}, fmt.Errorf("seed %q is not a non-negative number", *seed)
	}
	cfg.sim = anroksim.Options{
		APIKey:            *apiKey,
		ControlToken:      *controlToken,
		RequestsPerSecond: n,
		SellerTimeZone:    *zone,
		Seed:              s,
	}
	if err := cfg.sim.Validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// run serves until ctx ends, then drains in-flight requests. onListen, if set, learns the
// bound address (useful with port 0).
func run(ctx context.Context, cfg config, logger *slog.Logger, onListen func(net.Addr)) error {
	cfg.sim.Logger = logger
	sim := anroksim.New(cfg.sim)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           accessLog(logger, sim),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("anrok-sim listening",
		"addr", ln.Addr().String(),
		"rps", cfg.sim.RequestsPerSecond,
		"api_key_required", cfg.sim.APIKey != "",
		"control_token_required", cfg.sim.ControlToken != "",
	)
	if onListen != nil {
		onListen(ln.Addr())
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("anrok-sim shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stats := sim.Stats()
	logger.Info("anrok-sim stopped", "requests", stats.Requests, "throttled", stats.Throttled, "faults", stats.Faults)
	return nil
}

// accessLog logs one line per request. It logs the method, path, status and duration
// only: never headers (the API key) or bodies (customer addresses).
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Info("request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond),
		)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
