package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"

	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/internal/testenv"
	"github.com/taxflow/taxflow/workflows"
)

var (
	buildWorker sync.Once
	workerBin   string
	workerErr   error
)

// workerBinary builds the real worker binary once for the package.
func workerBinary(t *testing.T) string {
	t.Helper()
	buildWorker.Do(func() {
		dir, err := os.MkdirTemp("", "taxflow-worker-")
		if err != nil {
			workerErr = err
			return
		}
		workerBin = filepath.Join(dir, "worker")
		cmd := exec.Command("go", "build", "-o", workerBin, "./worker")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			workerErr = fmt.Errorf("build the worker: %v\n%s", err, out)
		}
	})
	if workerErr != nil {
		t.Fatal(workerErr)
	}
	return workerBin
}

// startWorker runs a worker process on the stack's configuration.
func (s *stack) startWorker(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(workerBinary(t))
	cmd.Env = append(os.Environ(),
		"TAXFLOW_DATABASE_URL="+s.cfg.DatabaseURL, "TEMPORAL_ADDRESS="+s.cfg.TemporalAddress, "TEMPORAL_NAMESPACE="+s.cfg.TemporalNamespace,
		"TAXFLOW_TASK_QUEUE="+s.cfg.TaskQueue, "TAXFLOW_SECRET_KEY="+s.cfg.SecretKeys, "TAXFLOW_CODEC_KEY="+s.cfg.CodecKeys,
		fmt.Sprintf("TAXFLOW_METRICS_ADDR=127.0.0.1:%d", port), "TAXFLOW_LOG_FORMAT=json",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("--- %s log (tail)\n%s", name, tailString(string(b), 3000))
		}
	})
	return cmd
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Workers scale out: two worker processes share the invoices; one killed mid-run
// (SIGKILL) loses nothing — every invoice is finalized, once, in both systems.
func TestTwoWorkerProcessesShareTheLoadAndAKilledOneLosesNothing(t *testing.T) {
	s := newStack(t, func(c *stackConfig) { c.noWorker = true })
	a := s.startWorker(t, "worker-a")
	s.startWorker(t, "worker-b")
	res := s.loadDemo()
	var ids []string
	for _, inv := range res.Invoices {
		ids = append(ids, inv.ID)
	}
	for i := 0; i < 16; i++ {
		id := fmt.Sprintf("inv-workers-%02d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		ids = append(ids, id)
		if i == 8 {
			// Mid-run: worker A dies without a chance to finish anything.
			if err := a.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	identities := map[string]bool{}
	for _, id := range ids {
		st := s.waitForWithin(id, status("finalized"), 150)
		si := s.stripeInvoicesOf(id)
		tx, ok := s.anrokTransaction(id)
		if len(si) != 1 || !ok || si[0].TotalTax != tx.TaxAmountToCollect || st.Tax != tx.TaxAmountToCollect {
			t.Fatalf("%s: %d Stripe invoices, Anrok %+v", id, len(si), tx)
		}
		for _, who := range s.activityWorkers(id) {
			identities[who] = true
		}
	}
	if len(identities) < 2 {
		t.Fatalf("activities ran on %v: the second worker took no share", identities)
	}
}

// activityWorkers lists the identities of the workers that ran the invoice's activities.
func (s *stack) activityWorkers(invoiceID string) []string {
	it := s.temporal.GetWorkflowHistory(context.Background(), workflows.InvoiceWorkflowID(invoiceID), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			s.t.Fatal(err)
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			out = append(out, a.Identity)
		}
	}
	return out
}
