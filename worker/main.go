// Command worker runs taxflow's Temporal worker: the invoice workflows and their activities
// (the Stripe, Anrok and Postgres calls). Configuration comes from the environment (see the
// README); run as many as you like, they share the task queue.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // accounting time zones must resolve on hosts without tzdata

	"go.temporal.io/sdk/worker"

	"github.com/taxflow/taxflow/internal/app"
	"github.com/taxflow/taxflow/internal/config"
	"github.com/taxflow/taxflow/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p := app.Boot(ctx, config.RoleWorker, "worker")
	defer p.Close()

	go serveOps(ctx, p, p.Metrics.Handler(), p.Log)
	// Process-wide, and only before the first worker is made.
	worker.SetStickyWorkflowCacheSize(p.Config.WorkflowCacheSize)
	w := worker.New(p.Temporal, p.Config.TaskQueue, app.WorkerOptions())
	acts := app.NewActivities(p.Config, p.Store, p.Secrets, p.Log, p.Metrics)
	acts.SignalInvoice = app.InvoiceClient(p.Config, p.Temporal).Signal
	workflows.Register(w, acts)
	workflows.RegisterAlerts(w, app.NewAlertActivities(p.Store, p.Secrets))
	// Outgoing webhooks: the outbox's events are handed to delivery workflows.
	go app.NewDispatcher(p.Config, p.Store, p.Temporal, p.Log).Run(ctx)
	p.Log.Info("worker started", "task_queue", p.Config.TaskQueue, "temporal", p.Config.TemporalAddress, "namespace", p.Config.TemporalNamespace)
	if err := w.Run(worker.InterruptCh()); err != nil {
		p.Log.Error("worker stopped", "error", err)
		os.Exit(1)
	}
	p.Log.Info("worker stopped")
}
