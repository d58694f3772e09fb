// Command chaos is `make chaos`: invoices in flight on the real stack while the worker and
// the starter are killed, Temporal and PostgreSQL restarted and the simulators fail
// requests — then every invoice checked in the simulators' own state (internal/chaos).
// It prints a summary table and exits 1 on any violation.
//
//	chaos [-invoices 300] [-seed N] [-json summary.json] [-bin bin] ...
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/taxflow/taxflow/internal/chaos"
)

func main() {
	cfg := chaos.Defaults()
	fs := flag.NewFlagSet("chaos", flag.ExitOnError)
	fs.IntVar(&cfg.Invoices, "invoices", cfg.Invoices, "invoices to post during the chaos")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "seed of every random choice (0: a new one, printed, to rerun with)")
	fs.StringVar(&cfg.BinDir, "bin", cfg.BinDir, "directory of the worker and starter binaries (make build puts them in bin)")
	temporal := fs.String("temporal", "", "the Temporal CLI (default: temporal in -bin, which make tools builds)")
	fs.StringVar(&cfg.WorkDir, "dir", "", "directory for the run's state and logs (default: a temporary one, removed unless -keep or a violation)")
	fs.BoolVar(&cfg.KeepWorkDir, "keep", false, "keep the work directory and its logs")
	fs.DurationVar(&cfg.ChaosFor, "chaos-for", cfg.ChaosFor, "how long faults and disruptions last")
	fs.DurationVar(&cfg.SubmitFor, "submit-for", cfg.SubmitFor, "invoices are posted evenly over this first part of the chaos")
	fs.DurationVar(&cfg.SettleWithin, "settle-within", cfg.SettleWithin, "after the chaos, how long invoices get to reach a final state before they count as stuck")
	fs.IntVar(&cfg.WorkerKills, "worker-kills", cfg.WorkerKills, "SIGKILLs of the worker (the supervisor restarts it)")
	fs.IntVar(&cfg.StarterKills, "starter-kills", cfg.StarterKills, "SIGKILLs of the starter (the supervisor restarts it)")
	fs.IntVar(&cfg.TemporalRestarts, "temporal-restarts", cfg.TemporalRestarts, "stops (SIGTERM and SIGKILL in turn) and starts of the Temporal dev server")
	fs.IntVar(&cfg.PostgresRestarts, "postgres-restarts", cfg.PostgresRestarts, "restarts of PostgreSQL (fast and immediate in turn)")
	fs.Float64Var(&cfg.ServerErrorRate, "rate-5xx", cfg.ServerErrorRate, "share of the simulators' requests answered 5xx")
	fs.Float64Var(&cfg.TimeoutRate, "rate-timeout", cfg.TimeoutRate, "share of the simulators' requests held until taxflow times out")
	fs.DurationVar(&cfg.TimeoutHold, "timeout-hold", cfg.TimeoutHold, "longest a timed-out request is held (taxflow gives up at 60s)")
	fs.DurationVar(&cfg.Burst429Every, "burst-429-every", cfg.Burst429Every, "a burst of 429s every this long, each simulator in turn")
	fs.IntVar(&cfg.Burst429, "burst-429", cfg.Burst429, "429s per burst (0: none)")
	jsonPath := fs.String("json", "", "also write the summary as JSON to this file")
	_ = fs.Parse(os.Args[1:])
	if *temporal == "" {
		*temporal = filepath.Join(cfg.BinDir, "temporal")
	}
	cfg.TemporalPath = *temporal
	cfg.Log = os.Stdout
	os.Exit(run(cfg, *jsonPath))
}

func run(cfg chaos.Config, jsonPath string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := chaos.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 2
	}
	sum.WriteTable(os.Stdout)
	if jsonPath != "" {
		if err := sum.WriteJSON(jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 2
		}
	}
	if !sum.OK() {
		return 1
	}
	return 0
}
