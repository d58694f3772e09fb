package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Supervisor runs processes the way a process manager would: each one that dies is started
// again after a short backoff, and every start, exit and restart is logged. The backoff
// doubles only while a process keeps dying young (a crash loop), up to MaxBackoff, and
// starts over once it has run StableAfter: a process that dies after running fine is back
// within Backoff, however many times that has happened before.
type Supervisor struct {
	Log io.Writer
	// Backoff is the wait before a restart (0: DefaultBackoff); MaxBackoff bounds it in a
	// crash loop (0: DefaultMaxBackoff); StableAfter is how long a process must run for its
	// next death not to count as a crash loop (0: DefaultStableAfter).
	Backoff     time.Duration
	MaxBackoff  time.Duration
	StableAfter time.Duration

	mu   sync.Mutex
	proc []*Process
	wg   sync.WaitGroup
}

// The supervisor's defaults.
const (
	DefaultBackoff     = time.Second
	DefaultMaxBackoff  = 8 * time.Second
	DefaultStableAfter = 10 * time.Second
)

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Process is one supervised command.
type Process struct {
	Name    string
	Path    string
	Args    []string
	Env     []string
	LogFile string

	mu       sync.Mutex
	cmd      *exec.Cmd
	started  time.Time
	stopping bool
	restarts int
}

// errStopping: the process is being stopped and must not be started again.
var errStopping = errors.New("stopping")

func (s *Supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.Log, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Start starts p and keeps it running until Stop.
func (s *Supervisor) Start(ctx context.Context, p *Process) error {
	if err := p.spawn(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	s.logf("%s started (pid %d), log %s", p.Name, p.Pid(), p.LogFile)
	s.mu.Lock()
	s.proc = append(s.proc, p)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		initial := orDefault(s.Backoff, DefaultBackoff)
		backoff := initial
		for {
			err := p.wait()
			if p.isStopping() || ctx.Err() != nil {
				return
			}
			if p.uptime() >= orDefault(s.StableAfter, DefaultStableAfter) {
				backoff = initial // it ran fine: this is no crash loop
			}
			s.logf("%s exited (%v); restarting in %s", p.Name, err, backoff)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, orDefault(s.MaxBackoff, DefaultMaxBackoff))
				err := p.spawn()
				if errors.Is(err, errStopping) {
					return
				}
				if err != nil {
					s.logf("%s could not restart (%v); trying again in %s", p.Name, err, backoff)
					continue
				}
				break
			}
			p.mu.Lock()
			p.restarts++
			p.mu.Unlock()
			s.logf("%s restarted (pid %d)", p.Name, p.Pid())
		}
	}()
	return nil
}

func (p *Process) spawn() error {
	var out io.Writer = io.Discard
	if p.LogFile != "" {
		f, err := os.OpenFile(p.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		out = f
	}
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: Ctrl-C in the terminal reaches the supervisor only, which then
	// stops its children in order. If the supervisor itself dies, they die with it rather
	// than hold their ports.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Checked and started under the lock: Stop, which sets stopping under it, then sees
	// this process and stops it, or this start does not happen.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		closeLog(out)
		return errStopping
	}
	if err := cmd.Start(); err != nil {
		closeLog(out)
		return err
	}
	p.cmd, p.started = cmd, time.Now()
	return nil
}

func closeLog(w io.Writer) {
	if f, ok := w.(*os.File); ok {
		_ = f.Close()
	}
}

// Pid is the process id of the current run (0 before the first start).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Signal sends sig to the current run of the process (not to its children): a chaos test
// kills a worker this way, and the supervisor restarts it.
func (p *Process) Signal(sig syscall.Signal) error {
	pid := p.Pid()
	if pid == 0 {
		return fmt.Errorf("%s is not running", p.Name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("signal %s (pid %d): %w", p.Name, pid, err)
	}
	return nil
}

// Restarts counts the times the supervisor started the process again after it died.
func (p *Process) Restarts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

func (p *Process) uptime() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.started)
}

func (p *Process) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

func (p *Process) wait() error {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	err := cmd.Wait()
	if f, ok := cmd.Stdout.(*os.File); ok {
		_ = f.Close()
	}
	return err
}

// Stop stops every process, newest first: SIGTERM, then SIGKILL after grace.
func (s *Supervisor) Stop(grace time.Duration) {
	s.mu.Lock()
	procs := append([]*Process(nil), s.proc...)
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		p.mu.Lock()
		p.stopping = true
		cmd := p.cmd
		p.mu.Unlock()
		if cmd == nil || cmd.Process == nil {
			continue
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for {
				if err := syscall.Kill(cmd.Process.Pid, 0); err != nil {
					close(done)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		select {
		case <-done:
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		s.logf("%s stopped", p.Name)
	}
	s.wg.Wait()
}
