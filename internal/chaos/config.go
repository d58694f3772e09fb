package chaos

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one chaos run: start from Defaults and change what differs.
type Config struct {
	// Invoices is how many invoices are posted, spread over SubmitFor.
	Invoices int
	// Seed seeds every random choice (the invoices, the moments and kinds of disruptions,
	// the simulators' faults); 0 picks one, which Summary.Seed reports for a rerun.
	Seed uint64
	// BinDir holds the worker and starter binaries; TemporalPath is the Temporal CLI.
	BinDir       string
	TemporalPath string
	// WorkDir is where the run keeps its state and logs; "" makes a temporary directory,
	// removed at the end unless KeepWorkDir.
	WorkDir     string
	KeepWorkDir bool

	// ChaosFor is how long disruptions and faults last; invoices are posted during the
	// first SubmitFor of it.
	ChaosFor  time.Duration
	SubmitFor time.Duration
	// SettleWithin bounds the wait, after the chaos, for every invoice to reach a final
	// state; an invoice not final by then is stuck.
	SettleWithin time.Duration

	// Disruptions during ChaosFor, each at a random moment: SIGKILL of the worker (the
	// supervisor restarts it), SIGKILL of the starter, a stop (SIGTERM or SIGKILL in turn)
	// and start of Temporal, a restart of PostgreSQL (pg_ctl restart, fast or immediate in
	// turn).
	WorkerKills      int
	StarterKills     int
	TemporalRestarts int
	PostgresRestarts int

	// Faults of both simulators while the chaos lasts, as shares of their API requests.
	ServerErrorRate float64
	TimeoutRate     float64
	// TimeoutHold bounds how long a timed-out request is held (taxflow gives up at 60 s).
	TimeoutHold time.Duration
	// A burst of Burst429 answers 429 comes every Burst429Every, each simulator in turn.
	Burst429Every time.Duration
	Burst429      int

	// Log receives the run's progress (nil: discarded).
	Log io.Writer
}

// Defaults is the full run of `make chaos`.
func Defaults() Config {
	return Config{
		Invoices:         300,
		ChaosFor:         3 * time.Minute,
		SubmitFor:        2 * time.Minute,
		SettleWithin:     15 * time.Minute,
		WorkerKills:      4,
		StarterKills:     2,
		TemporalRestarts: 2,
		PostgresRestarts: 2,
		ServerErrorRate:  0.10,
		TimeoutRate:      0.05,
		TimeoutHold:      90 * time.Second,
		Burst429Every:    15 * time.Second,
		Burst429:         20,
		BinDir:           "bin",
	}
}

func (c Config) withLog() Config {
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// validate names the first unusable setting.
func (c Config) validate() error {
	var errs []error
	if c.Invoices < 1 {
		errs = append(errs, fmt.Errorf("invoices must be at least 1, got %d", c.Invoices))
	}
	if c.ChaosFor <= 0 || c.SubmitFor <= 0 || c.SettleWithin <= 0 || c.TimeoutHold <= 0 || c.Burst429Every <= 0 {
		errs = append(errs, errors.New("chaos-for, submit-for, settle-within, timeout-hold and burst-429-every must be positive"))
	}
	if c.SubmitFor > c.ChaosFor {
		errs = append(errs, fmt.Errorf("invoices are posted during the chaos: submit-for %s is longer than chaos-for %s", c.SubmitFor, c.ChaosFor))
	}
	for name, n := range map[string]int{"worker kills": c.WorkerKills, "starter kills": c.StarterKills,
		"Temporal restarts": c.TemporalRestarts, "PostgreSQL restarts": c.PostgresRestarts, "429 burst size": c.Burst429} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", name, n))
		}
	}
	if c.ServerErrorRate < 0 || c.TimeoutRate < 0 || c.ServerErrorRate+c.TimeoutRate > 1 {
		errs = append(errs, fmt.Errorf("fault rates must be shares between 0 and 1 (5xx %v + timeouts %v)", c.ServerErrorRate, c.TimeoutRate))
	}
	if c.TemporalPath == "" {
		errs = append(errs, errors.New("the path of the Temporal CLI (bin/temporal, `make tools`) is not set"))
	}
	return errors.Join(errs...)
}
