package chaos

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/testenv"
)

// testLog sends the run's progress to the test's log, line by line.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// `make chaos` in miniature, in `make test`: 40 invoices on the real stack while the worker
// and the starter are killed, Temporal and PostgreSQL restarted once each, and the
// simulators answer 5xx, timeouts and bursts of 429 (each kind at least once). Checked in
// the simulators' own state: no duplicate, nothing lost, nothing stuck, Stripe's tax equal
// to Anrok's for every invoice. The seed is fixed, so a failure can be replayed with
// `go run ./internal/cmd/chaos -seed 20261130 -invoices 40 ...`.
func TestChaosLosesNothingAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos run takes about two minutes")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./worker", "./starter")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the worker and the starter: %v\n%s", err, out)
	}
	cfg := Defaults()
	cfg.Seed = 20261130
	cfg.Invoices = 40
	cfg.BinDir = bin
	cfg.TemporalPath = testenv.TemporalPath()
	cfg.WorkDir = t.TempDir()
	cfg.ChaosFor, cfg.SubmitFor, cfg.SettleWithin = 40*time.Second, 20*time.Second, 2*time.Minute
	cfg.WorkerKills, cfg.StarterKills, cfg.TemporalRestarts, cfg.PostgresRestarts = 1, 1, 1, 1
	// Every timeout costs an invoice taxflow's 60-second provider timeout: a few are enough
	// here (one of each simulator is queued first in any case).
	cfg.TimeoutRate = 0.02
	cfg.Burst429Every, cfg.Burst429 = 10*time.Second, 5
	cfg.Log = testLog{t}

	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	sum.WriteTable(&table)
	t.Log(table.String())
	if !sum.OK() {
		t.Fatalf("%d violations (the processes' log tails are above):\n%s", len(sum.Violations), strings.Join(sum.Violations, "\n"))
	}
	if sum.Duplicates != 0 || sum.Lost != 0 || sum.Stuck != 0 || sum.TaxMismatches != 0 {
		t.Fatalf("duplicates %d, lost %d, stuck %d, tax mismatches %d", sum.Duplicates, sum.Lost, sum.Stuck, sum.TaxMismatches)
	}
	if want := cfg.Invoices + sum.DemoInvoices; sum.Finalized != want {
		t.Errorf("%d invoices finalized, want %d (failed: %v)", sum.Finalized, want, sum.Failures)
	}
	for _, kind := range []string{"anrok 5xx", "anrok timeout", "anrok 429", "stripe 5xx (before the write)", "stripe 5xx (after the write)", "stripe timeout", "stripe 429"} {
		if sum.Faults[kind] == 0 {
			t.Errorf("no fault %q was injected: %v", kind, sum.Faults)
		}
	}
	for _, kind := range []string{KillWorker, KillStarter, RestartTemporal, RestartPostgres} {
		if sum.Restarts[kind] != 1 {
			t.Errorf("%q happened %d times, want once", kind, sum.Restarts[kind])
		}
	}
}
