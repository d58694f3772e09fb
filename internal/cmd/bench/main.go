// Command bench is `make bench` (issue 7): it runs taxflow's benchmark — platform ratio,
// cost per invoice, rate-limit drain, latency, the scale of waiting and the API — on this
// machine and writes bench/results.json, bench/RESULTS.md and the charts. It needs
// PostgreSQL (run it through devpg, as make bench does) and bin/temporal (make tools).
//
//	bench [-scale 1] [-only api,platform,cost,latency,drain,waiting] [-out bench] [-bin bin]
//
// -scale 0.05 shrinks every count for a smoke check. Progress goes to stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/taxflow/taxflow/internal/bench"
	"github.com/taxflow/taxflow/internal/testenv"
)

func main() {
	scale := flag.Float64("scale", 1, "multiplies every count (1: the issue's run of 1,000 drained and 10,000 watching invoices); 0.05 for a smoke check")
	only := flag.String("only", "", "comma-separated scenarios to run (default all): "+strings.Join(bench.AllScenarios, ","))
	out := flag.String("out", "", "output directory (default bench/ in the repository)")
	bin := flag.String("bin", "", "directory of built worker and starter binaries (make build); empty builds them")
	keepLogs := flag.Bool("keep-logs", false, "keep the processes' logs (their directory is printed)")
	capFactor := flag.Float64("drain-cap", 3, "stop the drain at this many times its floor and report it unfinished")
	devDefaults := flag.Bool("temporal-dev-defaults", false, "run Temporal on the CLI dev server's dynamic config as it ships (it re-reads the search-attribute metadata from its database on every use, which no cluster does)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := bench.Options{Scale: *scale, OutDir: *out, BinDir: *bin, KeepLogs: *keepLogs, Progress: os.Stderr, DrainCapFactor: *capFactor, TemporalDevDefaults: *devDefaults}
	if opts.OutDir == "" {
		opts.OutDir = testenv.RepoRoot() + "/bench"
	}
	if *only != "" {
		opts.Scenarios = strings.Split(*only, ",")
	}
	res, err := bench.Run(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	for _, f := range res.Figures {
		mark := " "
		if f.Pass != nil && !*f.Pass {
			mark = "✗"
		} else if f.Pass != nil {
			mark = "✓"
		}
		fmt.Printf("%s item %d  %-62s %10.3f %s\n", mark, f.Item, f.Name, f.Value, f.Unit)
	}
	if len(res.Errors) > 0 {
		fmt.Fprintln(os.Stderr, "bench: some scenarios did not finish:")
		for _, e := range res.Errors {
			fmt.Fprintln(os.Stderr, "  ", e)
		}
		os.Exit(1)
	}
}
