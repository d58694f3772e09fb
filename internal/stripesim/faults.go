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
)

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
	Status int `json:"status,omitempty"`
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
	// Injected counts the faults injected so far.
	Injected int64 `json:"injected"`
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
}

type faultInjector struct {
	mu       sync.Mutex
	rules    []FaultRule
	delay    time.Duration
	rate     float64
	rng      *rand.Rand
	seed     uint64
	injected int64
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
		f.injected++
		mode, status := r.Mode, r.Status
		if r.Count == 0 {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		if mode == "" {
			mode = FaultBeforeExecute
		}
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return &injectedFault{mode: mode, status: status}
	}
	if f.rate > 0 && f.rng.Float64() < f.rate {
		f.injected++
		return &injectedFault{mode: FaultBeforeExecute, status: http.StatusInternalServerError}
	}
	return nil
}

func (f *faultInjector) currentDelay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.delay
}

func (f *faultInjector) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.delay, f.rate, f.injected = nil, 0, 0, 0
	f.rng = rand.New(rand.NewPCG(f.seed, f.seed^0x9e3779b97f4a7c15))
}

func (f *faultInjector) config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FaultConfig{Rules: append([]FaultRule{}, f.rules...), Delay: Duration(f.delay), Rate: f.rate, Injected: f.injected}
}

func validateRule(r FaultRule) error {
	switch r.Mode {
	case "", FaultBeforeExecute, FaultAfterExecute, FaultDropConnection:
	default:
		return fmt.Errorf("unknown fault mode %q", r.Mode)
	}
	if r.Count <= 0 {
		return fmt.Errorf("fault count must be positive, got %d", r.Count)
	}
	if r.Status != 0 && (r.Status < 500 || r.Status > 599) {
		return fmt.Errorf("fault status must be a 5xx, got %d", r.Status)
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
	s.faults.rate = rate
	s.faults.mu.Unlock()
	return nil
}

// ClearFaults removes every rule, the delay and the fault rate.
func (s *Server) ClearFaults() { s.faults.clear() }

// Faults returns the fault injector's current configuration.
func (s *Server) Faults() FaultConfig { return s.faults.config() }
