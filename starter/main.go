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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := app.Boot(ctx, config.RoleStarter, "starter")
	defer p.Close()

	srv := &api.Server{
		Store:        p.Store,
		Secrets:      p.Secrets,
		Workflows:    app.InvoiceClient(p.Config, p.Temporal),
		Tokens:       p.Config.APITokens,
		Estimator:    app.NewEstimator(p.Config, p.Store, p.Secrets, p.Metrics),
		Reconciler:   app.NewReconciler(p.Config, p.Store, p.Secrets, p.Metrics),
		Metrics:      p.Metrics,
		Codec:        p.Codec,
		CodecOpen:    p.Config.CodecAuth == "none",
		CodecOrigins: p.Config.CodecOrigins,
		Ready:        p.Readiness,
		Log:          p.Log,
	}
	go srv.SweepUnstarted(ctx, 15*time.Second)
	go app.ExportInvoiceCounts(ctx, p.Store, p.Metrics, 30*time.Second, p.Log)

	hs := &http.Server{
		Addr:              p.Config.HTTPAddr,
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
	p.Log.Info("starter listening", "addr", p.Config.HTTPAddr)
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		p.Log.Error("http server failed", "error", err)
		os.Exit(1)
	}
	p.Log.Info("starter stopped")
}
