package anroksim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
	// FaultRateLimited answers 429 with a Retry-After of one second, as Anrok does when
	// another client of the seller account uses up its rate: a burst of these is what a
	// client meets then.
	FaultRateLimited FaultKind = "rateLimited"
	// FaultForcedConflict counts the answers of forced 409 rules (ForcedConflict) in
	// Stats.FaultsByKind; it is not a kind InjectFaults takes.
	FaultForcedConflict FaultKind = "forcedConflict"
)

// Fault is one injected failure.
type Fault struct {
	Kind FaultKind
	// Delay is how long a FaultDelay holds the answer.
	Delay time.Duration
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultServerError, FaultExternalServiceError, FaultRateLimited:
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

// ForcedConflict makes requests answer 409 {"type": Code}, as Anrok does for a business
// conflict, without looking at them: to see how a client handles a conflict that is hard
// to provoke (transactionFrozenForFiling, externalServiceError, ...).
type ForcedConflict struct {
	// Code is the 409 type to answer, e.g. "customerAddressCouldNotResolve".
	Code string `json:"code"`
	// Endpoint limits the rule to one endpoint (see Endpoints: "createOrUpdate",
	// "transactions/void", "certificates/create", ...); empty means every endpoint.
	Endpoint string `json:"endpoint,omitempty"`
	// Count is how many matching requests still answer 409; 0 means every matching
	// request until the rule is cleared.
	Count int `json:"count,omitempty"`
}

func (c *ForcedConflict) normalize() error {
	c.Code = strings.TrimSpace(c.Code)
	if c.Code == "" {
		return fmt.Errorf("anroksim: a forced conflict needs a code")
	}
	for _, r := range c.Code {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("anroksim: forced conflict code %q is not an identifier", c.Code)
		}
	}
	if c.Endpoint != "" {
		name, ok := endpointName(c.Endpoint)
		if !ok {
			return fmt.Errorf("anroksim: unknown endpoint %q (known: %s)", c.Endpoint, strings.Join(Endpoints(), ", "))
		}
		c.Endpoint = name
	}
	if c.Count < 0 {
		return fmt.Errorf("anroksim: forced conflict count %d is negative", c.Count)
	}
	return nil
}

// ParseForcedConflicts reads forced conflicts written as the command's -force-409 flag
// takes them: comma-separated rules "[endpoint=]code[:count]". "externalServiceError:3"
// answers the next 3 requests with externalServiceError; "createOrUpdate=
// customerAddressCouldNotResolve" answers every createOrUpdate with it.
func ParseForcedConflicts(spec string) ([]ForcedConflict, error) {
	var out []ForcedConflict
	for _, rule := range strings.Split(spec, ",") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		var c ForcedConflict
		if ep, code, ok := strings.Cut(rule, "="); ok {
			if c.Endpoint, rule = strings.TrimSpace(ep), code; c.Endpoint == "" {
				return nil, fmt.Errorf("anroksim: forced conflict %q names no endpoint before \"=\"", rule)
			}
		}
		code, count, hasCount := strings.Cut(rule, ":")
		c.Code = code
		if hasCount {
			n, err := strconv.Atoi(strings.TrimSpace(count))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("anroksim: forced conflict %q: count %q is not a positive number", rule, count)
			}
			c.Count = n
		}
		if err := c.normalize(); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// FreezeOnCommit makes transactions frozen for filing as soon as createOrUpdate creates
// them, so that their next createOrUpdate or void answers 409 transactionFrozenForFiling.
type FreezeOnCommit struct {
	// All freezes every transaction createOrUpdate creates.
	All bool `json:"all,omitempty"`
	// IDs freezes these transactions: at once if they exist, else when created.
	IDs []string `json:"ids,omitempty"`
}

func (f FreezeOnCommit) applies(id string) bool { return f.All || slices.Contains(f.IDs, id) }

func (f FreezeOnCommit) isZero() bool { return !f.All && len(f.IDs) == 0 }

// ParseFreezeOnCommit reads the command's -force-frozen flag: "true" (or "all") freezes
// every committed transaction, "false" or "" none, anything else is a comma-separated
// list of transaction ids.
func ParseFreezeOnCommit(spec string) FreezeOnCommit {
	switch strings.ToLower(strings.TrimSpace(spec)) {
	case "", "false", "0", "no", "none":
		return FreezeOnCommit{}
	case "true", "1", "yes", "all":
		return FreezeOnCommit{All: true}
	}
	var f FreezeOnCommit
	for _, id := range strings.Split(spec, ",") {
		if id = strings.TrimSpace(id); id != "" {
			f.IDs = append(f.IDs, id)
		}
	}
	return f
}

// FaultSettings is every fault setting in force.
type FaultSettings struct {
	// Queued are the faults the next requests get (InjectFaults).
	Queued []Fault
	Rates  FaultRates
	// Latency is added to every Anrok API request.
	Latency time.Duration
	// Conflicts are the forced 409 rules, with the counts still to serve.
	Conflicts      []ForcedConflict
	FreezeOnCommit FreezeOnCommit
}

// faultInjector hands out faults: forced conflicts first, then queued faults, then random
// draws. Draws come from a seeded generator so a chaos run replays the same sequence of
// decisions.
type faultInjector struct {
	seed uint64

	mu        sync.Mutex
	queue     []Fault
	rates     FaultRates
	rng       *rand.Rand
	latency   time.Duration
	conflicts []ForcedConflict
	freeze    FreezeOnCommit
}

// conflictFor returns the 409 type forced on a request to endpoint, if a rule matches;
// a counted rule is used up.
func (f *faultInjector) conflictFor(endpoint string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.conflicts {
		c := &f.conflicts[i]
		if c.Endpoint != "" && c.Endpoint != endpoint {
			continue
		}
		code := c.Code
		if c.Count > 0 {
			c.Count--
			if c.Count == 0 {
				f.conflicts = slices.Delete(f.conflicts, i, i+1)
			}
		}
		return code, true
	}
	return "", false
}

func (f *faultInjector) getLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

func (f *faultInjector) freezeOnCommit() FreezeOnCommit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.freeze
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
	f.latency = 0
	f.conflicts = nil
	f.freeze = FreezeOnCommit{}
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

// ClearFaults drops every fault setting: queued faults, random rates, the added latency,
// forced conflicts and freeze-on-commit. It restarts the seeded random sequence.
func (s *Server) ClearFaults() { s.faults.clear() }

// SetLatency adds d to every Anrok API request (0 removes it), as a slow network or a
// loaded Anrok would. The request is served after the wait even if the client gave up.
func (s *Server) SetLatency(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("anroksim: negative latency %s", d)
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.latency = d
	return nil
}

// ForceConflict adds a forced 409 rule (see ForcedConflict). Rules are tried in the order
// they were added; the first that matches a request answers it.
func (s *Server) ForceConflict(c ForcedConflict) error {
	if err := c.normalize(); err != nil {
		return err
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.conflicts = append(s.faults.conflicts, c)
	return nil
}

// ClearForcedConflicts drops every forced 409 rule.
func (s *Server) ClearForcedConflicts() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.conflicts = nil
}

// SetFreezeOnCommit replaces the freeze-on-commit setting; the ids it names that already
// exist are frozen at once.
func (s *Server) SetFreezeOnCommit(f FreezeOnCommit) {
	f.IDs = slices.Clone(f.IDs)
	s.faults.mu.Lock()
	s.faults.freeze = f
	s.faults.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range f.IDs {
		if t, ok := s.txns[id]; ok && t.negationOf == "" {
			t.frozen = true
		}
	}
}

// FaultSettings returns every fault setting in force.
func (s *Server) FaultSettings() FaultSettings {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return FaultSettings{
		Queued:         slices.Clone(s.faults.queue),
		Rates:          s.faults.rates,
		Latency:        s.faults.latency,
		Conflicts:      slices.Clone(s.faults.conflicts),
		FreezeOnCommit: FreezeOnCommit{All: s.faults.freeze.All, IDs: slices.Clone(s.faults.freeze.IDs)},
	}
}

// PendingFaults returns the queued faults and the random rates in force.
func (s *Server) PendingFaults() ([]Fault, FaultRates) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return append([]Fault(nil), s.faults.queue...), s.faults.rates
}
