package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/enums/v1"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/internal/stripesim"
	"github.com/taxflow/taxflow/internal/testenv"
)

// stackConfig says how a stack is limited.
type stackConfig struct {
	name string
	// anrokRPS and stripeRPS are the simulators' limits (0: none).
	anrokRPS, stripeRPS int
	// taxflowAnrokRPS and taxflowStripeRPS are the limits taxflow is configured with
	// (requests_per_second of the Anrok connection and of the Stripe account).
	taxflowAnrokRPS, taxflowStripeRPS int
	// noWorker: only the starter runs (the API scenario measures the API alone).
	noWorker bool
}

// stack is one taxflow deployment on the shared Temporal server: a fresh database, both
// simulators, the worker and the starter processes on a task queue of their own, and the
// configuration loaded through the API (a Stripe account, an Anrok connection, a product,
// customers).
type stack struct {
	cfg       stackConfig
	p         *platform
	dbURL     string
	db        *pgxpool.Pool
	taskQueue string

	anrokSim  *anroksim.Server
	stripeSim *stripesim.Server
	anrok     *simulator
	stripe    *simulator
	stripeKey string
	anrokKey  string

	worker, starter *process
	workerOps       string // the worker's /metrics and /readyz
	apiURL          string
	api             *apiClient

	webhookSecret string
	customers     []string
	// rateLimitsAccepted: taxflow took requests_per_second on both the account and the
	// connection (false: it does not know the setting yet).
	rateLimitsAccepted bool
}

const (
	stripeAccountID   = "stripe-bench"
	anrokConnectionID = "anrok-bench"
	productID         = "platform-fee"
)

// newStack starts a stack and loads its configuration.
func (p *platform) newStack(ctx context.Context, cfg stackConfig) (_ *stack, err error) {
	s := &stack{cfg: cfg, p: p, taskQueue: "bench-" + cfg.name + "-" + testenv.RandomHex(4)}
	p.stacks = append(p.stacks, s)
	defer func() {
		if err != nil {
			err = fmt.Errorf("stack %s: %w", cfg.name, err)
		}
	}()
	if s.dbURL, err = p.newDatabase(ctx); err != nil {
		return nil, err
	}
	s.anrokSim = anroksim.New(anroksim.Options{RequestsPerSecond: cfg.anrokRPS})
	s.stripeSim = stripesim.New(stripesim.Options{RequestsPerSecond: cfg.stripeRPS, RequestLogSize: 1000})
	if s.anrok, err = startSimulator("anrok", s.anrokSim); err != nil {
		return nil, err
	}
	if s.stripe, err = startSimulator("stripe", s.stripeSim); err != nil {
		return nil, err
	}
	s.stripeKey, s.anrokKey = "sk_test_bench_"+testenv.RandomHex(6), "sbench/sabench/secret."+testenv.RandomHex(6)
	s.webhookSecret = "whsec_bench_" + testenv.RandomHex(12)
	if err := s.startProcesses(ctx); err != nil {
		return nil, err
	}
	if s.db, err = pgxpool.New(ctx, s.dbURL); err != nil {
		return nil, fmt.Errorf("connect to the stack's database: %w", err)
	}
	if err := s.configure(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// env is the environment taxflow's processes read (see the README's configuration table).
func (s *stack) env(extra ...string) []string {
	return append([]string{
		"TAXFLOW_DATABASE_URL=" + s.dbURL,
		"TEMPORAL_ADDRESS=" + s.p.temporalAddr,
		"TEMPORAL_NAMESPACE=default",
		"TAXFLOW_TASK_QUEUE=" + s.taskQueue,
		"TAXFLOW_SECRET_KEY=" + s.p.secretKey,
		"TAXFLOW_CODEC_KEY=" + s.p.codecKey,
		"TAXFLOW_LOG_FORMAT=json",
	}, extra...)
}

func (s *stack) startProcesses(ctx context.Context) error {
	apiPort, err := devenv.FreePort()
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	s.apiURL = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	s.starter, err = startProcess(s.cfg.name+"-starter", s.p.starterBin, s.p.logDir,
		s.env(fmt.Sprintf("TAXFLOW_HTTP_ADDR=127.0.0.1:%d", apiPort), "TAXFLOW_API_TOKEN="+s.p.token))
	if err != nil {
		return err
	}
	if !s.cfg.noWorker {
		if err := s.startWorker(ctx); err != nil {
			return err
		}
	}
	if err := waitOK(ctx, s.apiURL+"/readyz", s.starter, time.Minute); err != nil {
		return fmt.Errorf("the starter is not ready: %w", err)
	}
	s.api = newAPIClient(s.apiURL, s.p.token)
	return nil
}

// startWorker starts taxflow's worker process and waits until it polls its task queue.
func (s *stack) startWorker(ctx context.Context) error {
	port, err := devenv.FreePort()
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	s.workerOps = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.worker, err = startProcess(s.cfg.name+"-worker", s.p.workerBin, s.p.logDir, s.env(fmt.Sprintf("TAXFLOW_METRICS_ADDR=127.0.0.1:%d", port)))
	if err != nil {
		return err
	}
	if err := waitOK(ctx, s.workerOps+"/readyz", s.worker, time.Minute); err != nil {
		return fmt.Errorf("the worker is not ready: %w", err)
	}
	return waitForPoller(ctx, s.p, s.taskQueue, fmt.Sprintf("%d@", s.worker.pid()))
}

// waitOK polls url until it answers 200; it fails early when proc has exited.
func waitOK(ctx context.Context, url string, proc *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		if done, werr := proc.exited(); done {
			return fmt.Errorf("%s exited (%v):\n%s", proc.name, werr, proc.logTail(2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (log tail:\n%s)", err, proc.logTail(2000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitForPoller waits until a worker whose identity starts with prefix (the SDK's default
// identity is "<pid>@<host>@") polls taskQueue for workflow and activity tasks.
func waitForPoller(ctx context.Context, p *platform, taskQueue, prefix string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		missing := 0
		for _, typ := range []enums.TaskQueueType{enums.TASK_QUEUE_TYPE_WORKFLOW, enums.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := p.client.DescribeTaskQueue(ctx, taskQueue, typ)
			if err != nil {
				return fmt.Errorf("describe task queue %s: %w", taskQueue, err)
			}
			found := false
			for _, poller := range resp.GetPollers() {
				found = found || strings.HasPrefix(poller.GetIdentity(), prefix)
			}
			if !found {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no worker %s polls task queue %s", prefix, taskQueue)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// close stops the processes, the simulators and the database connections.
func (s *stack) close() error {
	var errs []error
	for _, proc := range []*process{s.starter, s.worker} {
		if proc != nil {
			errs = append(errs, proc.stop(15*time.Second))
		}
	}
	if s.db != nil {
		s.db.Close()
	}
	for _, sim := range []*simulator{s.anrok, s.stripe} {
		if sim != nil {
			errs = append(errs, sim.close())
		}
	}
	if s.stripeSim != nil {
		s.stripeSim.Close()
	}
	return errors.Join(errs...)
}
