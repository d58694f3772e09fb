// Command anrok-sim serves the Anrok simulator (package anroksim) over HTTP: the Anrok
// sandbox taxflow uses when no Anrok account is configured.
//
//	anrok-sim -addr 127.0.0.1:8091 [-api-key K] [-rps N] [-control-token T]
//	          [-seller-time-zone Z] [-seed S] [-log-level debug|info|warn|error]
//	          [-no-nexus us-FL,au]
//	          [-fault-rate-5xx P] [-fault-rate-external P] [-fault-rate-timeout P]
//	          [-timeout-delay D] [-latency D] [-force-409 RULES] [-force-frozen true|IDS]
//
// Every flag can also come from the environment (ANROK_SIM_ADDR, ANROK_SIM_API_KEY,
// ANROK_SIM_RPS, ANROK_SIM_CONTROL_TOKEN, ANROK_SIM_SELLER_TIME_ZONE, ANROK_SIM_SEED,
// ANROK_SIM_LOG_LEVEL, ANROK_SIM_NO_NEXUS, ANROK_SIM_FAULT_RATE_5XX,
// ANROK_SIM_FAULT_RATE_EXTERNAL, ANROK_SIM_FAULT_RATE_TIMEOUT, ANROK_SIM_TIMEOUT_DELAY,
// ANROK_SIM_LATENCY, ANROK_SIM_FORCE_409, ANROK_SIM_FORCE_FROZEN); a flag on the command
// line wins. The rate limit is per API key and defaults to Anrok's real 10 requests per
// second. The fault settings are those of one simulator instance; they can be changed at
// run time under /_sim/faults and come back on POST /_sim/reset. -help describes them. It
// stops gracefully on SIGINT or SIGTERM.
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
	"strings"
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

const usageHeader = `Usage: anrok-sim [flags]

Serves a simulation of Anrok's seller API (the no-account Anrok sandbox): transactions,
products, product tax categories and exemption certificates, with Anrok's error shapes and
a rate limit per API key. Its rates are a simulation for testing, not tax advice.

Every flag can also be set by the environment variable named in its description; a flag
given on the command line wins.

Fault injection (per simulator instance; also at run time under /_sim/faults):
  -fault-rate-5xx P       ANROK_SIM_FAULT_RATE_5XX       share of requests answered 500 (0..1)
  -fault-rate-external P  ANROK_SIM_FAULT_RATE_EXTERNAL  share answered 409 externalServiceError
  -fault-rate-timeout P   ANROK_SIM_FAULT_RATE_TIMEOUT   share held for -timeout-delay, then served
  -timeout-delay D        ANROK_SIM_TIMEOUT_DELAY        how long a timeout holds (default 35s)
  -latency D              ANROK_SIM_LATENCY              added to every request ("250ms")
  -force-409 RULES        ANROK_SIM_FORCE_409            comma-separated "[endpoint=]code[:count]":
      answer 409 {"type": code} on every request ("externalServiceError"), on the next count
      requests ("externalServiceError:3") or on every request to one endpoint
      ("createOrUpdate=customerAddressCouldNotResolve"; endpoints are listed below)
  -force-frozen V         ANROK_SIM_FORCE_FROZEN         "true": every transaction createOrUpdate
      creates is frozen for filing at once, so its next createOrUpdate or void answers 409
      transactionFrozenForFiling; or a comma-separated list of transaction ids to freeze so
  The order: latency, then forced 409s, then the random faults. POST /_sim/reset restores
  these settings; DELETE /_sim/faults clears them.

Control endpoints (open unless -control-token is set):
  GET /_sim/faults, DELETE /_sim/faults, PUT /_sim/faults/rates, PUT /_sim/faults/latency,
  POST|DELETE /_sim/faults/conflicts, PUT /_sim/faults/frozen, POST /_sim/faults,
  GET /_sim/transactions[/{id}], POST /_sim/transactions/{id}/freeze, GET /_sim/certificates,
  GET /_sim/products, POST /_sim/customers, GET /_sim/stats, POST /_sim/reset

Endpoint names for -force-409 (a transactions/ prefix may be left out):
%s
Flags:
`

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
	fs.Usage = func() {
		fmt.Fprintf(usage, usageHeader, wrap(anroksim.Endpoints(), "  ", 90))
		fs.PrintDefaults()
	}
	addr := fs.String("addr", env("ANROK_SIM_ADDR", "127.0.0.1:8091"), "listen address (env ANROK_SIM_ADDR)")
	apiKey := fs.String("api-key", env("ANROK_SIM_API_KEY", ""), "the only API key accepted; empty accepts any (env ANROK_SIM_API_KEY)")
	rps := fs.String("rps", env("ANROK_SIM_RPS", "10"), "requests per second allowed per API key, 0 for no limit; Anrok's is 10 (env ANROK_SIM_RPS)")
	controlToken := fs.String("control-token", env("ANROK_SIM_CONTROL_TOKEN", ""), "bearer token for the /_sim/ endpoints; empty leaves them open (env ANROK_SIM_CONTROL_TOKEN)")
	zone := fs.String("seller-time-zone", env("ANROK_SIM_SELLER_TIME_ZONE", "UTC"), "the seller's accounting time zone (env ANROK_SIM_SELLER_TIME_ZONE)")
	seed := fs.String("seed", env("ANROK_SIM_SEED", "1"), "seed of the random fault draws (env ANROK_SIM_SEED)")
	level := fs.String("log-level", env("ANROK_SIM_LOG_LEVEL", "info"), "debug, info, warn or error (env ANROK_SIM_LOG_LEVEL)")
	noNexus := fs.String("no-nexus", env("ANROK_SIM_NO_NEXUS", ""), "comma-separated jurisdiction ids where the seller is not registered (notCollecting), e.g. us-FL,au (env ANROK_SIM_NO_NEXUS)")
	rate5xx := fs.String("fault-rate-5xx", env("ANROK_SIM_FAULT_RATE_5XX", "0"), "share of requests answered 500, 0..1 (env ANROK_SIM_FAULT_RATE_5XX)")
	rateExternal := fs.String("fault-rate-external", env("ANROK_SIM_FAULT_RATE_EXTERNAL", "0"), "share of requests answered 409 externalServiceError, 0..1 (env ANROK_SIM_FAULT_RATE_EXTERNAL)")
	rateTimeout := fs.String("fault-rate-timeout", env("ANROK_SIM_FAULT_RATE_TIMEOUT", "0"), "share of requests held for -timeout-delay before being served, 0..1 (env ANROK_SIM_FAULT_RATE_TIMEOUT)")
	timeoutDelay := fs.String("timeout-delay", env("ANROK_SIM_TIMEOUT_DELAY", anroksim.DefaultTimeoutDelay.String()), "how long a timeout fault holds a request (env ANROK_SIM_TIMEOUT_DELAY)")
	latency := fs.String("latency", env("ANROK_SIM_LATENCY", "0s"), "latency added to every request, e.g. 250ms (env ANROK_SIM_LATENCY)")
	force409 := fs.String("force-409", env("ANROK_SIM_FORCE_409", ""), "forced 409 rules \"[endpoint=]code[:count]\", comma-separated (env ANROK_SIM_FORCE_409)")
	forceFrozen := fs.String("force-frozen", env("ANROK_SIM_FORCE_FROZEN", ""), "\"true\" freezes every transaction for filing on creation; or comma-separated transaction ids (env ANROK_SIM_FORCE_FROZEN)")
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
	var rates anroksim.FaultRates
	for _, p := range []struct {
		name, value string
		dst         *float64
	}{{"fault-rate-5xx", *rate5xx, &rates.ServerError}, {"fault-rate-external", *rateExternal, &rates.ExternalServiceError}, {"fault-rate-timeout", *rateTimeout, &rates.Timeout}} {
		if *p.dst, err = strconv.ParseFloat(strings.TrimSpace(p.value), 64); err != nil {
			return config{}, fmt.Errorf("%s %q is not a number", p.name, p.value)
		}
	}
	if rates.TimeoutDelay, err = time.ParseDuration(*timeoutDelay); err != nil {
		return config{}, fmt.Errorf("timeout-delay: %w", err)
	}
	lat, err := time.ParseDuration(*latency)
	if err != nil {
		return config{}, fmt.Errorf("latency: %w", err)
	}
	conflicts, err := anroksim.ParseForcedConflicts(*force409)
	if err != nil {
		return config{}, fmt.Errorf("force-409: %w", err)
	}
	var nexus []string
	for _, id := range strings.Split(*noNexus, ",") {
		if id = strings.TrimSpace(id); id != "" {
			nexus = append(nexus, id)
		}
	}
	cfg.sim = anroksim.Options{
		APIKey:            *apiKey,
		ControlToken:      *controlToken,
		RequestsPerSecond: n,
		SellerTimeZone:    *zone,
		Seed:              s,
		NoNexus:           nexus,
		FaultRates:        rates,
		Latency:           lat,
		ForcedConflicts:   conflicts,
		FreezeOnCommit:    anroksim.ParseFreezeOnCommit(*forceFrozen),
	}
	if err := cfg.sim.Validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// wrap joins words with ", " into indented lines of at most width characters.
func wrap(words []string, indent string, width int) string {
	var b strings.Builder
	line := indent
	for i, w := range words {
		if i < len(words)-1 {
			w += ","
		}
		if len(line)+1+len(w) > width && line != indent {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
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
	if o := cfg.sim; o.FaultRates != (anroksim.FaultRates{TimeoutDelay: o.FaultRates.TimeoutDelay}) || o.Latency > 0 ||
		len(o.ForcedConflicts) > 0 || o.FreezeOnCommit.All || len(o.FreezeOnCommit.IDs) > 0 {
		logger.Warn("anrok-sim injecting faults",
			"rate_5xx", o.FaultRates.ServerError,
			"rate_external", o.FaultRates.ExternalServiceError,
			"rate_timeout", o.FaultRates.Timeout,
			"latency", o.Latency,
			"forced_409", len(o.ForcedConflicts),
			"freeze_all", o.FreezeOnCommit.All,
			"freeze_ids", len(o.FreezeOnCommit.IDs),
		)
	}
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
