package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/taxflow/taxflow/internal/devenv"
	"github.com/taxflow/taxflow/workflows"
)

// temporalServer is the Temporal dev server on a file database, started and stopped by the
// run itself (not through the SDK's test suite) so that it can be stopped and started again
// on the same port with the same history.
type temporalServer struct {
	path    string
	port    int
	dbFile  string
	logFile string
	cmd     *exec.Cmd
	done    chan struct{}
}

func newTemporalServer(path, dir string) (*temporalServer, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the Temporal CLI %s is missing: run `make tools` (it builds the pinned CLI from source): %w", path, err)
	}
	port, err := devenv.FreePort()
	if err != nil {
		return nil, fmt.Errorf("free port for Temporal: %w", err)
	}
	return &temporalServer{path: path, port: port, dbFile: filepath.Join(dir, "temporal.db"), logFile: filepath.Join(dir, "logs", "temporal.log")}, nil
}

// Address is the frontend's host:port.
func (t *temporalServer) Address() string { return "127.0.0.1:" + strconv.Itoa(t.port) }

// Start starts the server and waits until its frontend answers a health check.
func (t *temporalServer) Start(ctx context.Context) error {
	log, err := os.OpenFile(t.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("Temporal log: %w", err)
	}
	args := []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", strconv.Itoa(t.port), "--headless",
		"--db-filename", t.dbFile, "--log-level", "warn",
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false"}
	for _, name := range workflows.SearchAttributeNames {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	cmd := exec.Command(t.path, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Its own process group, killed with the run if the run dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start Temporal: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}()
	t.cmd, t.done = cmd, done
	return t.waitHealthy(ctx, 90*time.Second)
}

func (t *temporalServer) waitHealthy(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-t.done:
			return fmt.Errorf("Temporal exited at start (see %s)", t.logFile)
		default:
		}
		if last = t.check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("Temporal did not become healthy within %s (see %s): %w", within, t.logFile, last)
}

func (t *temporalServer) check(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := client.DialContext(cctx, client.Options{HostPort: t.Address(), Logger: quietLogger{}})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(cctx, &client.CheckHealthRequest{})
	return err
}

// Stop stops the server: SIGTERM, then SIGKILL after grace.
func (t *temporalServer) Stop(grace time.Duration) error {
	if t.cmd == nil {
		return nil
	}
	select {
	case <-t.done:
		return nil
	default:
	}
	if err := syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop Temporal: %w", err)
	}
	select {
	case <-t.done:
		return nil
	case <-time.After(grace):
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
		<-t.done
		return nil
	}
}

// Kill stops the server the hard way, as a crash would: SIGKILL.
func (t *temporalServer) Kill() error {
	if t.cmd == nil {
		return nil
	}
	if err := syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill Temporal: %w", err)
	}
	<-t.done
	return nil
}

// quietLogger keeps the SDK's connection attempts out of the run's output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}
