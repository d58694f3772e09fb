package devenv

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Supervisor runs processes the way a process manager would: each one that dies is started
// again after a short backoff, and every start, exit and restart is logged.
type Supervisor struct {
	Log  io.Writer
	mu   sync.Mutex
	proc []*Process
	wg   sync.WaitGroup
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
	stopping bool
	Restarts int
}

func (s *Supervisor) logf(format string, args ...any) {
	fmt.Fprintf(s.Log, "[%s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// Start starts p and keeps it running until Stop.
func (s *Supervisor) Start(ctx context.Context, p *Process) error {
	if err := p.spawn(); err != nil {
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	s.logf("%s started (pid %d), log %s", p.Name, p.pid(), p.LogFile)
	s.mu.Lock()
	s.proc = append(s.proc, p)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		backoff := time.Second
		for {
			err := p.wait()
			if p.isStopping() || ctx.Err() != nil {
				return
			}
			s.logf("%s exited (%v); restarting in %s", p.Name, err, backoff)
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				if p.isStopping() {
					return
				}
				if backoff < 10*time.Second {
					backoff *= 2
				}
				if err := p.spawn(); err != nil {
					s.logf("%s could not restart (%v); trying again in %s", p.Name, err, backoff)
					continue
				}
				break
			}
			p.mu.Lock()
			p.Restarts++
			p.mu.Unlock()
			s.logf("%s restarted (pid %d)", p.Name, p.pid())
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
	// stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	return nil
}

func (p *Process) isStopping() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopping
}

func (p *Process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
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
