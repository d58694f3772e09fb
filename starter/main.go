// Command starter serves taxflow's HTTP API: it validates and stores invoices and
// configuration in Postgres and starts and signals the invoice workflows. Configuration
// comes from the environment (see the README).
package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	_ "time/tzdata" // accounting time zones are validated on hosts without tzdata

	"github.com/taxflow/taxflow/internal/app"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/starter/api"
)

func main() {
	cfg := app.LoadConfig(config.RoleStarter)
	log := app.NewLogger(cfg, "starter")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	keys, err := app.Keyring(cfg)
	if err != nil {
		log.Error("bad secret key", "error", err)
		os.Exit(2)
	}
	st, err := app.OpenStore(ctx, cfg, log)
	if err != nil {
		log.Error("database unavailable", "error", err)
		os.Exit(1)
	}
	defer st.Close()
	tc, err := app.DialTemporal(ctx, cfg, log, time.Minute)
	if err != nil {
		log.Error("temporal unavailable", "error", err)
		os.Exit(1)
	}
	defer tc.Close()

	srv := &api.Server{
		Store:     st,
		Secrets:   keys,
		Workflows: api.TemporalWorkflows{Client: tc, TaskQueue: cfg.TaskQueue},
		Tokens:    cfg.APITokens,
		Log:       log,
	}
	go srv.SweepUnstarted(ctx, 15*time.Second)

	hs := &http.Server{
		Addr:              cfg.HTTPAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	log.Info("starter listening", "addr", cfg.HTTPAddr)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http server failed", "error", err)
		os.Exit(1)
	}
	log.Info("starter stopped")
}
