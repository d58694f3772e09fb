package stripesim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"sync"
	"time"
)

// FaultMode says where in a request an injected fault strikes. The difference matters for
// idempotency: Stripe's answer to a retry depends on whether the first attempt took effect.
type FaultMode string

const (
	// FaultBeforeExecute answers 500 api_error without executing the request: nothing
	// changes and nothing is saved under the idempotency key, so a retry executes afresh.
	FaultBeforeExecute FaultMode = "before_execute"
	// FaultAfterExecute executes the request and saves its real response under the
	// idempotency key, then answers 500: the write happened but the client does not know it.
	// A retry with the same key replays the saved success.
	FaultAfterExecute FaultMode = "after_execute"
	// FaultDropConnection executes the request, saves its response, then closes the
	// connection without answering: the client sees a network error, the classic lost
	// response behind duplicate invoices.
	FaultDropConnection FaultMode = "drop_connection"
	// FaultTimeout holds the request until its client gives up (at most the rule's or the
	// random faults' Hold), then executes it and saves its response under the idempotency
	// key, answering nobody: Stripe was slow, the client timed out, the write happened. The
	// key stays reserved while the request is held, as on a slow Stripe request.
	FaultTimeout FaultMode = "timeout"
	// FaultRateLimited answers 429 rate_limit without executing, as Stripe does when another
	// client of the account uses up its rate (a burst of these is what a client meets).
	FaultRateLimited FaultMode = "rate_limited"
)

// DefaultTimeoutHold is how long a timeout fault holds a request whose client does not
// give up: longer than taxflow's 60-second provider timeout.
const DefaultTimeoutHold = 90 * time.Second

// FaultRule injects Count faults into the API requests it matches.
type FaultRule struct {
	// Method matches the HTTP method; "" matches any.
	Method string `json:"method,omitempty"`
	// Path matches the URL path with path.Match syntax ("/v1/invoices/*/finalize");
	// "" matches any.
	Path string `json:"path,omitempty"`
	// Count is how many matching requests fail; the rule is spent afterwards.
	Count int `json:"count"`
	// Mode is where the fault strikes; "" means FaultBeforeExecute.
	Mode FaultMode `json:"mode,omitempty"`
	// Status is the HTTP status of the injected error, 500 by default; it must be a 5xx.
	// It does not apply to FaultTimeout and FaultRateLimited.
	Status int `json:"status,omitempty"`
	// Hold is how long a FaultTimeout holds the request at most; 0 means DefaultTimeoutHold.
	Hold Duration `json:"hold,omitempty"`
}

func (r FaultRule) matches(method, urlPath string) bool {
	if r.Method != "" && r.Method != method {
		return false
	}
	if r.Path != "" {
		ok, err := path.Match(r.Path, urlPath)
		return err == nil && ok
	}
	return true
}

// FaultConfig is the injector's state, as GET /_sim/faults shows it.
type FaultConfig struct {
	// Rules are the rules with faults left, applied in order.
	Rules []FaultRule `json:"rules"`
	// Delay is added to every API request, after its idempotency key is reserved, so a slow
	// request holds its key the way a slow Stripe request does.
	Delay Duration `json:"delay"`
	// Rate is the probability, from 0 to 1, that any API request fails before executing.
	Rate float64 `json:"rate"`
	// Random are the random faults of every mode (Rate is Random.BeforeExecute).
	Random RandomFaults `json:"random"`
	// Injected counts the faults injected so far; InjectedByMode splits them by mode.
	Injected       int64               `json:"injected"`
	InjectedByMode map[FaultMode]int64 `json:"injected_by_mode"`
}

// RandomFaults are the probabilities, from 0 to 1 and adding up to at most 1, that an API
// request meets a fault of each mode, drawn from a generator seeded with Options.FaultSeed.
// Rules are served first.
type RandomFaults struct {
	BeforeExecute  float64 `json:"before_execute,omitempty"`
	AfterExecute   float64 `json:"after_execute,omitempty"`
	DropConnection float64 `json:"drop_connection,omitempty"`
	Timeout        float64 `json:"timeout,omitempty"`
	// TimeoutHold bounds how long a random timeout holds a request; 0 means
	// DefaultTimeoutHold.
	TimeoutHold Duration `json:"timeout_hold,omitempty"`
}

func (r RandomFaults) validate() error {
	sum := 0.0
	for _, p := range []float64{r.BeforeExecute, r.AfterExecute, r.DropConnection, r.Timeout} {
		if p < 0 || p > 1 || p != p {
			return fmt.Errorf("fault rate must be between 0 and 1, got %v", p)
		}
		sum += p
	}
	if sum > 1 {
		return fmt.Errorf("fault rates add up to %v, more than 1", sum)
	}
	if r.TimeoutHold < 0 {
		return fmt.Errorf("timeout hold must not be negative")
	}
	return nil
}

// Duration is a time.Duration written as "250ms" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration in Go's notation.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "250ms" (or a number of nanoseconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration must be a string like \"250ms\": %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// injectedFault is the fault chosen for one request.
type injectedFault struct {
	mode   FaultMode
	status int
	hold   time.Duration // FaultTimeout
}

type faultInjector struct {
	mu       sync.Mutex
	rules    []FaultRule
	delay    time.Duration
	random   RandomFaults
	rng      *rand.Rand
	seed     uint64
	injected map[FaultMode]int64
}

func newFaultInjector(seed uint64) *faultInjector {
	return &faultInjector{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed: seed}
}

// pick decides whether the request fails, consuming one fault of the first matching rule;
// the random rate applies only when no rule matched.
func (f *faultInjector) pick(method, urlPath string) *injectedFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.rules {
		r := &f.rules[i]
		if r.Count <= 0 || !r.matches(method, urlPath) {
			continue
		}
		r.Count--
		fault := &injectedFault{mode: r.Mode, status: r.Status, hold: time.Duration(r.Hold)}
		if r.Count == 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		return f.count(fault)
	}
	r := f.random
	if r.BeforeExecute+r.AfterExecute+r.DropConnection+r.Timeout == 0 {
		return nil
	}
	u := f.rng.Float64()
	for _, c := range []struct {
		p    float64
		mode FaultMode
	}{{r.BeforeExecute, FaultBeforeExecute}, {r.AfterExecute, FaultAfterExecute}, {r.DropConnection, FaultDropConnection}, {r.Timeout, FaultTimeout}} {
		if u < c.p {
			return f.count(&injectedFault{mode: c.mode, hold: time.Duration(r.TimeoutHold)})
		}
		u -= c.p
	}
	return nil
}

// count fills in a fault's defaults and counts it; f.mu is held.
func (f *faultInjector) count(fault *injectedFault) *injectedFault {
	if fault.mode == "" {
		fault.mode = FaultBeforeExecute
	}
	if fault.status == 0 {
		fault.status = http.StatusInternalServerError
	}
	if fault.mode == FaultTimeout && fault.hold == 0 {
		fault.hold = DefaultTimeoutHold
	}
	if f.injected == nil {
		f.injected = map[FaultMode]int64{}
	}
	f.injected[fault.mode]++
	return fault
}

func (f *faultInjector) currentDelay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay
}

// clear drops every fault setting and restarts the seeded sequence; resetCounts also
// zeroes the counts of faults injected so far.
func (f *faultInjector) clear(resetCounts bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.delay, f.random = nil, 0, RandomFaults{}
	if resetCounts {
		f.injected = nil
	}
	f.rng = rand.New(rand.NewPCG(f.seed, f.seed^0x9e3779b97f4a7c15))
}

func (f *faultInjector) config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := FaultConfig{Rules: append([]FaultRule{}, f.rules...), Delay: Duration(f.delay), Rate: f.random.BeforeExecute,
		Random: f.random, InjectedByMode: map[FaultMode]int64{}}
	for mode, n := range f.injected {
		c.Injected += n
		c.InjectedByMode[mode] = n
	}
	return c
}

func validateRule(r FaultRule) error {
	switch r.Mode {
	case "", FaultBeforeExecute, FaultAfterExecute, FaultDropConnection, FaultTimeout, FaultRateLimited:
	default:
		return fmt.Errorf("unknown fault mode %q", r.Mode)
	}
	if r.Count <= 0 {
		return fmt.Errorf("fault count must be positive, got %d", r.Count)
	}
	if r.Status != 0 && (r.Status < 500 || r.Status > 599) {
		return fmt.Errorf("fault status must be a 5xx, got %d", r.Status)
	}
	if r.Hold < 0 {
		return fmt.Errorf("fault hold must not be negative")
	}
	if r.Path != "" {
		if _, err := path.Match(r.Path, "/"); err != nil {
			return fmt.Errorf("bad fault path pattern %q: %w", r.Path, err)
		}
	}
	return nil
}

// InjectFault adds a fault rule.
func (s *Server) InjectFault(r FaultRule) error {
	if err := validateRule(r); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.rules = append(s.faults.rules, r)
	s.faults.mu.Unlock()
	return nil
}

// FailNext makes the next n API requests fail with a 500 api_error in the given mode.
func (s *Server) FailNext(n int, mode FaultMode) error {
	return s.InjectFault(FaultRule{Count: n, Mode: mode})
}

// SetDelay slows every API request down by d (0 removes the delay).
func (s *Server) SetDelay(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.delay = d
	s.faults.mu.Unlock()
}

// SetFaultRate makes a fraction (0 to 1) of API requests fail with a 500 before executing,
// chosen by a generator seeded with Options.FaultSeed.
func (s *Server) SetFaultRate(rate float64) error {
	if rate < 0 || rate > 1 {
		return fmt.Errorf("fault rate must be between 0 and 1, got %v", rate)
	}
	s.faults.mu.Lock()
	s.faults.random.BeforeExecute = rate
	s.faults.mu.Unlock()
	return nil
}

// SetRandomFaults replaces the random fault rates of every mode.
func (s *Server) SetRandomFaults(r RandomFaults) error {
	if err := r.validate(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	s.faults.random = r
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every rule, the delay and the random fault rates. The counts of the
// faults injected so far stay (Reset zeroes them), so a chaos run can turn faults off and
// still read what it injected.
func (s *Server) ClearFaults() { s.faults.clear(false) }

// Faults returns the fault injector's current configuration.
func (s *Server) Faults() FaultConfig { return s.faults.config() }
