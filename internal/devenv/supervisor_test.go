package devenv

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log the supervisor writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// `make run` promises what a process manager does: a worker or starter that dies is
// restarted within seconds, and the restart is logged — the fifth time as the first. A
// process killed after running fine comes back after the initial backoff, not after a
// backoff grown by every earlier death.
func TestSupervisorRestartsAKilledProcessWithinSecondsEveryTimeAndLogsIt(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	log := &syncBuffer{}
	// StableAfter is shortened so that the test need not wait 10 s between kills.
	sup := &Supervisor{Log: log, StableAfter: 300 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := &Process{Name: "worker", Path: sleep, Args: []string{"300"}}
	if err := sup.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop(5 * time.Second)
	for i := 1; i <= 5; i++ {
		time.Sleep(400 * time.Millisecond) // the process has run fine
		old := p.Pid()
		killed := time.Now()
		if err := p.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		deadline := killed.Add(3 * time.Second)
		for p.Restarts() < i {
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: not restarted within 3s; log:\n%s", i, log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if p.Pid() == old {
			t.Fatalf("kill %d: same pid %d after the restart", i, old)
		}
		if took := time.Since(killed); took > 2*time.Second {
			t.Errorf("kill %d: restarted after %s; want about the initial backoff (1s)", i, took)
		}
		if want := fmt.Sprintf("worker restarted (pid %d)", p.Pid()); !strings.Contains(log.String(), want) {
			t.Fatalf("kill %d: the log has no %q:\n%s", i, want, log.String())
		}
	}
	if n := strings.Count(log.String(), "worker exited (signal: killed); restarting in 1s"); n != 5 {
		t.Errorf("%d exits logged with a 1s backoff, want 5:\n%s", n, log.String())
	}
}

// A process that dies as soon as it starts is a crash loop: the backoff doubles, up to
// MaxBackoff, and every attempt is logged.
func TestSupervisorBacksOffACrashLoop(t *testing.T) {
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false binary")
	}
	log := &syncBuffer{}
	sup := &Supervisor{Log: log, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Process{Name: "starter", Path: falseBin}
	if err := sup.Start(ctx, p); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p.Restarts() < 5 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	sup.Stop(time.Second)
	text := log.String()
	for _, want := range []string{"restarting in 50ms", "restarting in 100ms", "restarting in 200ms"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in the log:\n%s", want, text)
		}
	}
	if strings.Contains(text, "restarting in 400ms") {
		t.Errorf("the backoff went past MaxBackoff:\n%s", text)
	}
}

// Stop stops every process and no restart happens after it.
func TestSupervisorStopStopsEverythingAndRestartsNothing(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	log := &syncBuffer{}
	sup := &Supervisor{Log: log, Backoff: 10 * time.Millisecond}
	p := &Process{Name: "worker", Path: sleep, Args: []string{"300"}}
	if err := sup.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	pid := p.Pid()
	sup.Stop(5 * time.Second)
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("pid %d still runs after Stop", pid)
	}
	time.Sleep(100 * time.Millisecond)
	if p.Restarts() != 0 || p.Pid() != pid {
		t.Fatalf("restarted after Stop: %d restarts, pid %d (was %d)\n%s", p.Restarts(), p.Pid(), pid, log.String())
	}
	if !strings.Contains(log.String(), "worker stopped") {
		t.Fatalf("no stop logged:\n%s", log.String())
	}
}
