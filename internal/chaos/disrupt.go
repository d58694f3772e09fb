package chaos

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/taxflow/taxflow/internal/devenv"
)

// Event is a disruption as it happened.
type Event struct {
	// At is when it happened, counted from the start of the chaos.
	At     time.Duration `json:"at_ns"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail"`
	// Recovery is how long the component took to come back: the supervisor's restart of a
	// killed process, Temporal healthy again, PostgreSQL answering again.
	Recovery time.Duration `json:"recovery_ns"`
	// Restart is, for a killed process, how long its supervisor took from the process's
	// end (the kernel may take a moment to tear a killed process down) to its new start.
	Restart time.Duration `json:"restart_ns,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// MaxSupervisorRestart is the longest the supervisor may take to start a killed worker or
// starter again once it has ended: `make run` promises a restart "within seconds".
const MaxSupervisorRestart = 5 * time.Second

// runLog writes the run's progress lines, stamped with the time since the run began.
type runLog struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (l *runLog) say(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "[%6.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}

// disrupt carries out one planned disruption and reports it.
func disrupt(ctx context.Context, st *stack, e plannedEvent) Event {
	ev := Event{Kind: e.Kind}
	began := time.Now()
	var err error
	switch e.Kind {
	case KillWorker:
		ev.Detail, ev.Restart, err = killSupervised(ctx, st.worker)
	case KillStarter:
		ev.Detail, ev.Restart, err = killSupervised(ctx, st.starter)
	case RestartTemporal:
		ev.Detail = fmt.Sprintf("stopped (%s), down %s, started on the same port and database", e.Mode, e.Down.Round(100*time.Millisecond))
		if e.Mode == "SIGKILL" {
			err = st.temporal.Kill()
		} else {
			err = st.temporal.Stop(20 * time.Second)
		}
		if err == nil {
			select {
			case <-ctx.Done():
			case <-time.After(e.Down):
			}
			err = st.temporal.Start(context.WithoutCancel(ctx))
		}
	case RestartPostgres:
		ev.Detail = "pg_ctl restart -m " + e.Mode
		err = st.pg.Restart(e.Mode)
	}
	ev.Recovery = time.Since(began)
	if err != nil {
		ev.Error = err.Error()
	}
	return ev
}

// killSupervised kills the process with SIGKILL and waits for its supervisor to start it
// again; restart is the time from the process's end to its new start.
func killSupervised(ctx context.Context, p *devenv.Process) (detail string, restart time.Duration, err error) {
	before, pid := p.Restarts(), p.Pid()
	killed := time.Now()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return "", 0, err
	}
	var gone time.Duration // until the supervisor reaped it (a zombie still answers signal 0)
	deadline := time.Now().Add(30 * time.Second)
	for p.Restarts() == before {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("pid %d killed", pid), 0, fmt.Errorf("%s was not restarted by its supervisor within 30s", p.Name)
		}
		if gone == 0 && syscall.Kill(pid, 0) != nil {
			gone = time.Since(killed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(killed)
	if gone == 0 {
		gone = total
	}
	return fmt.Sprintf("pid %d killed, gone after %s; the supervisor started pid %d", pid, gone.Round(10*time.Millisecond), p.Pid()), total - gone, nil
}

// bursts makes one simulator after the other answer a burst of 429s, every cfg.Burst429Every
// until ctx ends, and returns how many bursts each got.
func bursts(ctx context.Context, sims *simulators, cfg Config, say func(string, ...any)) map[string]int {
	out := map[string]int{}
	if cfg.Burst429 == 0 {
		return out
	}
	t := time.NewTicker(cfg.Burst429Every)
	defer t.Stop()
	stripe := false
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
		stripe = !stripe
		name := map[bool]string{true: "Stripe", false: "Anrok"}[stripe]
		if err := sims.burst429(stripe, cfg.Burst429); err != nil {
			say("429 burst on %s: %v", name, err)
			continue
		}
		out[name]++
		say("%s: the next %d requests answer 429", name, cfg.Burst429)
	}
}
