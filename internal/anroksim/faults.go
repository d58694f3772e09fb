package anroksim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// FaultKind is a failure the simulator can inject into Anrok API answers.
type FaultKind string

const (
	// FaultServerError answers 500, as an Anrok outage would.
	FaultServerError FaultKind = "serverError"
	// FaultExternalServiceError answers 409 externalServiceError, Anrok's own transient
	// failure (the one 409 a client should retry).
	FaultExternalServiceError FaultKind = "externalServiceError"
	// FaultDelay holds the answer for Fault.Delay, long enough to make a client time out;
	// the request is then served normally.
	FaultDelay FaultKind = "delay"
)

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// Delay is how long a FaultDelay holds the answer.
	Delay time.Duration
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultServerError, FaultExternalServiceError:
		return nil
	case FaultDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("anroksim: a %s fault needs a positive delay", f.Kind)
		}
		return nil
	default:
		return fmt.Errorf("anroksim: unknown fault kind %q", f.Kind)
	}
}

// DefaultTimeoutDelay is how long a random timeout fault holds an answer: longer than the
// Anrok client's default 30-second timeout.
const DefaultTimeoutDelay = 35 * time.Second

// FaultRates makes a share of all answers fail at random, for chaos runs. Each rate is a
// probability in [0, 1] and they add up to at most 1. Queued faults (InjectFaults) are
// served first.
type FaultRates struct {
	ServerError          float64
	ExternalServiceError float64
	Timeout              float64
	// TimeoutDelay is the delay of a random timeout; 0 means DefaultTimeoutDelay.
	TimeoutDelay time.Duration
}

func (r FaultRates) validate() error {
	sum := 0.0
	for _, rate := range []struct {
		name string
		p    float64
	}{{"serverError", r.ServerError}, {"externalServiceError", r.ExternalServiceError}, {"timeout", r.Timeout}} {
		if rate.p < 0 || rate.p > 1 || math.IsNaN(rate.p) {
			return fmt.Errorf("anroksim: fault rate %s = %v is not a probability", rate.name, rate.p)
		}
		sum += rate.p
	}
	if sum > 1 {
		return fmt.Errorf("anroksim: fault rates add up to %v, more than 1", sum)
	}
	if r.TimeoutDelay < 0 {
		return fmt.Errorf("anroksim: negative timeout delay %s", r.TimeoutDelay)
	}
	return nil
}

// faultInjector hands out faults: queued ones first, then random draws. Draws come from
// a seeded generator so a chaos run replays the same sequence of decisions.
type faultInjector struct {
	seed uint64

	mu    sync.Mutex
	queue []Fault
	rates FaultRates
	rng   *rand.Rand
}

func newFaultInjector(seed uint64) *faultInjector {
	return &faultInjector{seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (f *faultInjector) next() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) > 0 {
		fault := f.queue[0]
		f.queue = f.queue[1:]
		return fault, true
	}
	r := f.rates
	if r.ServerError == 0 && r.ExternalServiceError == 0 && r.Timeout == 0 {
		return Fault{}, false
	}
	u := f.rng.Float64()
	switch {
	case u < r.ServerError:
		return Fault{Kind: FaultServerError}, true
	case u < r.ServerError+r.ExternalServiceError:
		return Fault{Kind: FaultExternalServiceError}, true
	case u < r.ServerError+r.ExternalServiceError+r.Timeout:
		d := r.TimeoutDelay
		if d == 0 {
			d = DefaultTimeoutDelay
		}
		return Fault{Kind: FaultDelay, Delay: d}, true
	}
	return Fault{}, false
}

func (f *faultInjector) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue = nil
	f.rates = FaultRates{}
	f.rng = rand.New(rand.NewPCG(f.seed, f.seed^0x9e3779b97f4a7c15))
}

// InjectFaults makes the next n Anrok API answers (after authentication and the rate
// limit) fail with fault, ahead of any random faults.
func (s *Server) InjectFaults(fault Fault, n int) error {
	if err := fault.validate(); err != nil {
		return err
	}
	if n < 1 {
		return fmt.Errorf("anroksim: fault count %d is not positive", n)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for range n {
		s.faults.queue = append(s.faults.queue, fault)
	}
	return nil
}

// SetFaultRates sets the random fault rates (all zero turns random faults off).
func (s *Server) SetFaultRates(r FaultRates) error {
	if err := r.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.rates = r
	return nil
}

// ClearFaults drops queued faults, turns random faults off and restarts the seeded random
// sequence.
func (s *Server) ClearFaults() { s.faults.clear() }

// PendingFaults returns the queued faults and the random rates in force.
func (s *Server) PendingFaults() ([]Fault, FaultRates) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return append([]Fault(nil), s.faults.queue...), s.faults.rates
}
