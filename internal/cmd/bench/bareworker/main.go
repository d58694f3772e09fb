// Command bareworker is the benchmark's reference worker: it runs the no-op workflow of
// package internal/bench/bare, on a task queue of its own, against the Temporal server the
// benchmark started. `make bench` builds and starts it as a separate process, like taxflow's
// worker, so both are measured the same way (own process, own gRPC connection, own
// garbage collector). It reads TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and BENCH_TASK_QUEUE and
// stops on SIGINT or SIGTERM.
package main

import (
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/taxflow/taxflow/internal/bench/bare"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bareworker:", err)
		os.Exit(1)
	}
}

func run() error {
	addr, queue := os.Getenv("TEMPORAL_ADDRESS"), os.Getenv("BENCH_TASK_QUEUE")
	if addr == "" || queue == "" {
		return fmt.Errorf("TEMPORAL_ADDRESS and BENCH_TASK_QUEUE must be set")
	}
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	// Logging at info, as taxflow's worker does by default: the SDK's default logger would
	// write a debug line per activity, a cost taxflow's worker does not pay.
	logger := log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	// The connection as taxflow's (internal/app): requests not gzipped.
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns, Logger: logger,
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", addr, err)
	}
	defer c.Close()
	if err := bare.NewWorker(c, queue).Run(worker.InterruptCh()); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
