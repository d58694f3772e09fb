// Command worker runs taxflow's Temporal worker: the invoice workflows and their activities
// (the Stripe, Anrok and Postgres calls). Configuration comes from the environment (see the
// README); run as many as you like, they share the task queue.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"
	_ "time/tzdata" // accounting time zones must resolve on hosts without tzdata

	"go.temporal.io/sdk/worker"

	"github.com/taxflow/taxflow/internal/app"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/workflows"
)

func main() {
	cfg := app.LoadConfig(config.RoleWorker)
	log := app.NewLogger(cfg, "worker")
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

	w := worker.New(tc, cfg.TaskQueue, worker.Options{})
	workflows.Register(w, app.NewActivities(cfg, st, keys, log, nil))
	log.Info("worker started", "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace)
	if err := w.Run(worker.InterruptCh()); err != nil {
		log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
	log.Info("worker stopped")
}
