package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// startWorker runs a worker process on the stack's configuration; opsURL is where it serves
// /metrics and /readyz.
func (s *stack) startWorker(t *testing.T, name string, env ...string) (cmd *exec.Cmd, opsURL string) {
	t.Helper()
	port, err := devenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(workerBinary(t))
	cmd.Env = append(os.Environ(),
		"TAXFLOW_DATABASE_URL="+s.cfg.DatabaseURL, "TEMPORAL_ADDRESS="+s.cfg.TemporalAddress, "TEMPORAL_NAMESPACE="+s.cfg.TemporalNamespace,
		"TAXFLOW_TASK_QUEUE="+s.cfg.TaskQueue, "TAXFLOW_SECRET_KEY="+s.cfg.SecretKeys, "TAXFLOW_CODEC_KEY="+s.cfg.CodecKeys,
		fmt.Sprintf("TAXFLOW_METRICS_ADDR=127.0.0.1:%d", port), "TAXFLOW_LOG_FORMAT=json",
	)
	cmd.Env = append(cmd.Env, env...)
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
	return cmd, fmt.Sprintf("http://127.0.0.1:%d", port)
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
	a, _ := s.startWorker(t, "worker-a")
	b, opsB := s.startWorker(t, "worker-b")
	// A worker's identity is the SDK's default, "<pid>@<host>@".
	idA, idB := fmt.Sprintf("%d@", a.Process.Pid), fmt.Sprintf("%d@", b.Process.Pid)
	s.waitForPollers(idA, idB)
	res := s.loadDemo()
	var ids []string
	for _, inv := range res.Invoices {
		ids = append(ids, inv.ID)
	}
	post := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("inv-workers-%02d-%s", i, s.opts.RunID)
			s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
			ids = append(ids, id)
		}
	}
	post(0, 8)
	// Mid-run: once worker A has taken a share, it dies without a chance to finish anything;
	// more invoices arrive after.
	deadline := time.Now().Add(60 * time.Second)
	for !s.ranOn(ids, idA) {
		if time.Now().After(deadline) {
			t.Fatalf("worker A (%s) ran no activity of %d invoices: the load is not shared", idA, len(ids))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	post(8, 16)
	for _, id := range ids {
		st := s.waitForWithin(id, status("finalized"), 150)
		si := s.stripeInvoicesOf(id)
		tx, ok := s.anrokTransaction(id)
		if len(si) != 1 || !ok || si[0].TotalTax != tx.TaxAmountToCollect || st.Tax != tx.TaxAmountToCollect {
			t.Fatalf("%s: %d Stripe invoices, Anrok %+v", id, len(si), tx)
		}
	}
	if !s.ranOn(ids, idB) {
		t.Fatalf("worker B (%s) ran no activity", idB)
	}
	// The surviving worker process is ready and serves its metrics: its provider calls and
	// the SDK's.
	if code, body := get(t, opsB+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"temporal":"ok"`) {
		t.Fatalf("worker B /readyz: %d %s", code, body)
	}
	_, metrics := get(t, opsB+"/metrics")
	for _, want := range []string{
		`taxflow_provider_request_duration_seconds_count{operation="/v1/seller/transactions/createOrUpdate",provider="anrok",status="200"}`,
		`taxflow_provider_request_duration_seconds_count{operation="/v1/invoices/{id}/finalize",provider="stripe",status="200"}`,
		`temporal_activity_execution_latency_seconds_count{`,
		`taxflow_invoice_finalization_seconds_count `,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("worker B /metrics has no %s", want)
		}
	}
}

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitForPollers waits until a worker of each identity prefix polls the stack's task queue
// for both workflow and activity tasks.
func (s *stack) waitForPollers(prefixes ...string) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := ""
		for _, typ := range []enums.TaskQueueType{enums.TASK_QUEUE_TYPE_WORKFLOW, enums.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := s.temporal.DescribeTaskQueue(context.Background(), s.cfg.TaskQueue, typ)
			if err != nil {
				s.t.Fatal(err)
			}
			for _, p := range prefixes {
				found := false
				for _, poller := range resp.GetPollers() {
					found = found || strings.HasPrefix(poller.GetIdentity(), p)
				}
				if !found {
					missing = fmt.Sprintf("%s on %s", p, typ)
				}
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no worker %s polls task queue %s", missing, s.cfg.TaskQueue)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ranOn reports whether a worker whose identity starts with prefix ran an activity of one
// of the invoices.
func (s *stack) ranOn(invoiceIDs []string, prefix string) bool {
	for _, id := range invoiceIDs {
		for _, who := range s.activityWorkers(id) {
			if strings.HasPrefix(who, prefix) {
				return true
			}
		}
	}
	return false
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

// Month end in miniature: 40 invoices at once, two worker processes, and the simulators
// enforcing Anrok's 10 requests/second and Stripe's 25 (test mode). taxflow's limiter,
// shared through Postgres, keeps both processes together under the limits: not one 429.
// With a queue of 5, most requests are put off and their activities retried later — and
// still no invoice costs more than the floor of 2 Anrok and 3 Stripe requests: a deferred
// attempt sent nothing, so its successor does not look anything up.
func TestTwoWorkersTogetherStayUnderTheProvidersRateLimits(t *testing.T) {
	s := newStack(t, func(c *stackConfig) {
		c.noWorker = true
		c.anrok.RequestsPerSecond = 10
		c.stripe.RequestsPerSecond = 25
	})
	_, opsA := s.startWorker(t, "worker-a", "TAXFLOW_RATE_LIMIT_QUEUE=5")
	_, opsB := s.startWorker(t, "worker-b", "TAXFLOW_RATE_LIMIT_QUEUE=5")
	s.settle(s.loadDemo())
	anrokBefore, stripeBefore := s.anrok.Stats().Requests, len(s.stripe.Requests())
	const n = 40
	var ids []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("inv-limit-%02d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		ids = append(ids, id)
	}
	for _, id := range ids {
		st := s.waitForWithin(id, status("finalized"), 120)
		tx, ok := s.anrokTransaction(id)
		if si := s.stripeInvoicesOf(id); !ok || len(si) != 1 || si[0].TotalTax != tx.TaxAmountToCollect || st.Tax != tx.TaxAmountToCollect {
			t.Fatalf("%s: Stripe %+v, Anrok %+v", id, si, tx)
		}
	}
	if got := s.anrok.Stats().Throttled; got != 0 {
		t.Errorf("Anrok answered 429 %d times", got)
	}
	if got := s.stripe.RateLimitedCount(); got != 0 {
		t.Errorf("Stripe answered 429 %d times", got)
	}
	// The floor, give or take an attempt that really did send and then fail (a request
	// timing out on a starved machine must be looked up after): 2 at most. Without the
	// quiet-attempt record, every deferral of a Stripe step costs a look-up — tens here.
	const slack = 2
	if got := s.anrok.Stats().Requests - anrokBefore; got < 2*n || got > 2*n+slack {
		t.Errorf("%d Anrok requests for %d invoices, want the floor %d", got, n, 2*n)
	}
	if reqs := s.stripe.Requests()[stripeBefore:]; len(reqs) < 3*n || len(reqs) > 3*n+slack {
		for _, r := range reqs {
			t.Logf("%s %s key=%s status=%d", r.Method, r.Path, r.IdempotencyKey, r.Status)
		}
		t.Errorf("%d Stripe requests for %d invoices, want the floor %d", len(reqs), n, 3*n)
	} else if len(reqs) > 3*n {
		t.Logf("%d Stripe requests beyond the floor (an attempt that sent and failed)", len(reqs)-3*n)
	}
	deferred := 0.0
	for _, ops := range []string{opsA, opsB} {
		_, metrics := get(t, ops+"/metrics")
		for _, l := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(l, "taxflow_rate_limit_deferred_total{") {
				deferred += sampleValue(t, l)
			}
		}
	}
	if deferred < 10 {
		t.Errorf("%.0f requests deferred: the test did not exercise the backlog", deferred)
	}
	t.Logf("%d invoices, %.0f requests deferred", n, deferred)
}

// TAXFLOW_WORKFLOW_CACHE_SIZE bounds what a worker holds in memory: with room for one
// workflow, the invoices it finalized are evicted, and a payment for the first one still
// reaches it (its history replayed) and is mirrored.
func TestASmallWorkflowCacheEvictsAndAnEventStillArrives(t *testing.T) {
	s := newStack(t, func(c *stackConfig) { c.noWorker = true })
	w, ops := s.startWorker(t, "worker-small-cache", "TAXFLOW_WORKFLOW_CACHE_SIZE=1")
	s.waitForPollers(fmt.Sprintf("%d@", w.Process.Pid))
	s.loadDemo()
	var ids []string
	for i := 0; i < 3; i++ {
		id := fmt.Sprintf("inv-cache-%d-%s", i, s.opts.RunID)
		s.postInvoice(id, "cust-denver", "usd", line("l1", "platform-fee", 15000))
		ids = append(ids, id)
	}
	for _, id := range ids {
		s.waitFor(id, status("finalized"))
	}
	_, metrics := get(t, ops+"/metrics")
	if !strings.Contains(metrics, "temporal_sticky_cache_size") {
		t.Fatalf("no sticky cache gauge in the worker's metrics")
	}
	for _, l := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(l, "temporal_sticky_cache_size{") && !strings.HasSuffix(l, " 1") && !strings.HasSuffix(l, " 0") {
			t.Fatalf("the cache holds more than one workflow: %s", l)
		}
	}
	if _, err := s.stripe.PayInvoice(s.stripeInvoicesOf(ids[0])[0].ID); err != nil {
		t.Fatal(err)
	}
	s.waitFor(ids[0], status("paid"))
}
