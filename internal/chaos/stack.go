package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/demo"
	"github.com/taxflow/taxflow/internal/devenv"
)

// stack is everything one run starts: its own PostgreSQL cluster, the Temporal dev server,
// the simulators, and the worker and starter processes under a supervisor.
type stack struct {
	dir, logs string
	removeDir bool
	pg        *devenv.Cluster
	dbURL     string
	temporal  *temporalServer
	sims      *simulators
	sup       *devenv.Supervisor
	stopSup   context.CancelFunc
	worker    *devenv.Process
	starter   *devenv.Process

	apiURL, opsURL, token string
	codecKey              string
	webhookSecret         string
}

// startStack brings the stack up; on error everything started is stopped again.
func startStack(ctx context.Context, cfg Config, say func(string, ...any)) (st *stack, err error) {
	st = &stack{dir: cfg.WorkDir}
	if st.dir == "" {
		if st.dir, err = os.MkdirTemp("", "taxflow-chaos-"); err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		st.removeDir = !cfg.KeepWorkDir
	}
	defer func() {
		if err != nil {
			st.stop()
		}
	}()
	st.logs = filepath.Join(st.dir, "logs")
	if err := os.MkdirAll(st.logs, 0o755); err != nil {
		return st, fmt.Errorf("log directory: %w", err)
	}
	say("work directory %s (logs in logs/)", st.dir)

	// PostgreSQL: a cluster of the run's own, never the machine's server, since the run
	// restarts it.
	if st.pg, err = devenv.StartCluster(context.Background(), filepath.Join(st.dir, "pg")); err != nil {
		return st, fmt.Errorf("PostgreSQL cluster: %w", err)
	}
	if st.dbURL, err = devenv.EnsureDatabase(ctx, st.pg.AdminURL(), "taxflow"); err != nil {
		return st, fmt.Errorf("create database taxflow: %w", err)
	}
	say("PostgreSQL: own cluster on 127.0.0.1:%d", st.pg.Port)

	if st.temporal, err = newTemporalServer(cfg.TemporalPath, st.dir); err != nil {
		return st, err
	}
	if err := st.temporal.Start(ctx); err != nil {
		return st, err
	}
	say("Temporal: dev server on %s, history in %s", st.temporal.Address(), st.temporal.dbFile)

	httpPort, err := devenv.FreePort()
	if err != nil {
		return st, err
	}
	opsPort, err := devenv.FreePort()
	if err != nil {
		return st, err
	}
	st.apiURL, st.opsURL = fmt.Sprintf("http://127.0.0.1:%d", httpPort), fmt.Sprintf("http://127.0.0.1:%d", opsPort)
	st.token = "tf_chaos_" + randomHex(16)
	st.codecKey = "chaos:" + base64.StdEncoding.EncodeToString(randomBytes(32))
	st.webhookSecret = "whsec_chaos_" + randomHex(16)
	webhookURL := st.apiURL + "/v1/webhooks/stripe/" + demo.StripeAccountID
	if st.sims, err = startSimulators(cfg.Seed, func() string { return webhookURL }, st.webhookSecret); err != nil {
		return st, err
	}
	say("simulators: Anrok %s, Stripe %s (in this process)", st.sims.anrokURL, st.sims.stripeURL)

	env := []string{
		"TAXFLOW_DATABASE_URL=" + st.dbURL,
		"TEMPORAL_ADDRESS=" + st.temporal.Address(),
		"TEMPORAL_NAMESPACE=default",
		"TAXFLOW_SECRET_KEY=chaos:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
		"TAXFLOW_CODEC_KEY=" + st.codecKey,
		"TAXFLOW_API_TOKEN=" + st.token,
		fmt.Sprintf("TAXFLOW_HTTP_ADDR=127.0.0.1:%d", httpPort),
		fmt.Sprintf("TAXFLOW_METRICS_ADDR=127.0.0.1:%d", opsPort),
	}
	supCtx, stopSup := context.WithCancel(context.Background())
	st.stopSup = stopSup
	st.sup = &devenv.Supervisor{Log: prefixWriter{say}}
	st.worker = &devenv.Process{Name: "worker", Path: filepath.Join(cfg.BinDir, "worker"), Env: env, LogFile: filepath.Join(st.logs, "worker.log")}
	st.starter = &devenv.Process{Name: "starter", Path: filepath.Join(cfg.BinDir, "starter"), Env: env, LogFile: filepath.Join(st.logs, "starter.log")}
	for _, p := range []*devenv.Process{st.worker, st.starter} {
		if _, err := os.Stat(p.Path); err != nil {
			return st, fmt.Errorf("the %s binary is missing (`make build`): %w", p.Name, err)
		}
		if err := st.sup.Start(supCtx, p); err != nil {
			return st, err
		}
	}
	if err := waitOK(ctx, st.apiURL+"/readyz", 90*time.Second); err != nil {
		return st, fmt.Errorf("the starter is not ready (see %s): %w", st.starter.LogFile, err)
	}
	if err := waitOK(ctx, st.opsURL+"/readyz", 90*time.Second); err != nil {
		return st, fmt.Errorf("the worker is not ready (see %s): %w", st.worker.LogFile, err)
	}
	say("worker and starter ready (API %s)", st.apiURL)
	return st, nil
}

// stop stops everything the stack started, newest first, and removes the work directory
// unless it is to be kept.
func (st *stack) stop() {
	if st.sup != nil {
		st.sup.Stop(10 * time.Second)
		st.stopSup()
	}
	if st.temporal != nil {
		_ = st.temporal.Stop(10 * time.Second)
	}
	if st.sims != nil {
		st.sims.close()
	}
	if st.pg != nil {
		_ = st.pg.Stop()
	}
	if st.removeDir {
		_ = os.RemoveAll(st.dir)
	}
}

// logTails returns the end of each process's log, to show with a violation.
func (st *stack) logTails(n int) string {
	var b strings.Builder
	for _, f := range []string{filepath.Join(st.logs, "worker.log"), filepath.Join(st.logs, "starter.log"),
		filepath.Join(st.logs, "temporal.log"), filepath.Join(st.dir, "pg", "postgres.log")} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		text := string(data)
		if len(text) > n {
			text = "…" + text[len(text)-n:]
		}
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", f, text)
	}
	return b.String()
}

// waitOK polls url until it answers 200.
func waitOK(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: 3 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return last
}

// prefixWriter sends the supervisor's lines to the run's log.
type prefixWriter struct{ say func(string, ...any) }

func (w prefixWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.say("supervisor: %s", line)
	}
	return len(p), nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }
