package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/internal/testenv"
)

// platform is what every scenario of one run shares: the Temporal dev server, the
// PostgreSQL server (a fresh database per stack), the built binaries and the secrets.
type platform struct {
	opts     Options
	progress *progress
	root     string // the repository
	tmp      string // the run's temporary directory (binaries, logs)
	logDir   string
	adminURL string

	temporal     *testsuite.DevServer
	temporalAddr string
	client       client.Client

	workerBin, starterBin, bareBin string

	secretKey, codecKey, token string
	databases                  []string
	stacks                     []*stack
}

// newPlatform builds the binaries and starts the Temporal dev server.
func newPlatform(ctx context.Context, opts Options, prog *progress) (_ *platform, err error) {
	p := &platform{opts: opts, progress: prog, root: testenv.RepoRoot(), adminURL: testenv.AdminURL()}
	p.tmp, err = os.MkdirTemp("", "taxflow-bench-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	p.logDir = filepath.Join(p.tmp, "logs")
	if err := os.MkdirAll(p.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	if err := p.build(ctx); err != nil {
		return nil, err
	}
	p.secretKey, p.codecKey = newKeyring("bench"), newKeyring("bench")
	p.token = "tf_bench_" + testenv.RandomHex(16)

	prog.logf("setup", "starting the Temporal dev server (%s)", testenv.TemporalPath())
	logFile, err := os.Create(filepath.Join(p.logDir, "temporal.log"))
	if err != nil {
		return nil, fmt.Errorf("temporal log: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var dynamicConfig []string
	if !opts.TemporalDevDefaults {
		dynamicConfig = productionDynamicConfig
	}
	p.temporal, err = testenv.StartTemporal(sctx, logFile, dynamicConfig...)
	if err != nil {
		return nil, fmt.Errorf("start Temporal: %w", err)
	}
	p.temporalAddr = p.temporal.FrontendHostPort()
	// Its own client, connected as taxflow's processes connect (requests not gzipped): it
	// starts the reference workflows, as taxflow's starter starts invoices.
	p.client, err = client.Dial(client.Options{HostPort: p.temporalAddr, Namespace: "default",
		Logger:            log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}}})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal: %w", err)
	}
	prog.logf("setup", "Temporal on %s; logs in %s", p.temporalAddr, p.logDir)
	return p, nil
}

// build builds the reference worker and, unless Options.BinDir names built ones, taxflow's
// worker and starter: what runs is the code in the working tree.
func (p *platform) build(ctx context.Context) error {
	out := filepath.Join(p.tmp, "bin")
	pkgs := []string{"./internal/cmd/bench/bareworker"}
	p.bareBin = filepath.Join(out, "bareworker")
	if p.opts.BinDir != "" {
		p.workerBin, p.starterBin = filepath.Join(p.opts.BinDir, "worker"), filepath.Join(p.opts.BinDir, "starter")
		for _, b := range []string{p.workerBin, p.starterBin} {
			if _, err := os.Stat(b); err != nil {
				return fmt.Errorf("%s is missing (make build): %w", b, err)
			}
		}
	} else {
		pkgs = append(pkgs, "./worker", "./starter")
		p.workerBin, p.starterBin = filepath.Join(out, "worker"), filepath.Join(out, "starter")
	}
	p.progress.logf("setup", "building %s", strings.Join(pkgs, " "))
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", out + "/"}, pkgs...)...)
	cmd.Dir = p.root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, b)
	}
	return nil
}

// newDatabase creates an empty database on the PostgreSQL server; close drops it.
func (p *platform) newDatabase(ctx context.Context) (string, error) {
	name := "taxflow_bench_" + testenv.RandomHex(6)
	u, err := devenv.EnsureDatabase(ctx, p.adminURL, name)
	if err != nil {
		return "", fmt.Errorf("create database %s (PostgreSQL must be reachable: run through `make bench`, whose devpg provides it): %w", name, err)
	}
	p.databases = append(p.databases, name)
	return u, nil
}

// close stops every stack and the Temporal server, drops the databases and removes the
// temporary directory.
func (p *platform) close() {
	var errs []error
	for i := len(p.stacks) - 1; i >= 0; i-- {
		errs = append(errs, p.stacks[i].close())
	}
	if p.client != nil {
		p.client.Close()
	}
	if p.temporal != nil {
		if err := p.temporal.Stop(); err != nil && !strings.Contains(err.Error(), "signal: interrupt") {
			errs = append(errs, fmt.Errorf("stop Temporal: %w", err))
		}
	}
	errs = append(errs, p.dropDatabases())
	if p.tmp != "" {
		if p.opts.KeepLogs {
			p.progress.logf("cleanup", "logs kept in %s", p.logDir)
		} else {
			errs = append(errs, os.RemoveAll(p.tmp))
		}
	}
	if err := errors.Join(errs...); err != nil {
		p.progress.logf("cleanup", "%v", err)
	}
}

func (p *platform) dropDatabases() error {
	if len(p.databases) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.adminURL)
	if err != nil {
		return fmt.Errorf("drop databases: %w", err)
	}
	defer conn.Close(ctx)
	var errs []error
	for _, name := range p.databases {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop %s: %w", name, err))
		}
	}
	p.databases = nil
	return errors.Join(errs...)
}

// newKeyring returns a keyring value of one fresh key (TAXFLOW_SECRET_KEY's format).
func newKeyring(id string) string {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		panic(err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw)
}

// closeStack stops a stack before the end of the run.
func (p *platform) closeStack(s *stack) {
	if err := s.close(); err != nil {
		p.progress.logf(s.cfg.name, "stop: %v", err)
	}
	p.stacks = slices.DeleteFunc(p.stacks, func(x *stack) bool { return x == s })
}
