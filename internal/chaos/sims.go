package chaos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/stripesim"
)

// simulators are the Anrok and Stripe simulators, in this process: they hold the truth the
// run is checked against, so they are never restarted.
type simulators struct {
	anrok     *anroksim.Server
	stripe    *stripesim.Server
	anrokURL  string
	stripeURL string
	servers   []*http.Server
}

// startSimulators serves both simulators on free loopback ports, at the real providers'
// rate limits (Anrok 10 requests/second, Stripe 25 in test mode). Stripe delivers its
// webhooks, signed with webhookSecret, to webhookURL (the starter).
func startSimulators(seed uint64, webhookURL func() string, webhookSecret string) (*simulators, error) {
	s := &simulators{
		anrok: anroksim.New(anroksim.Options{RequestsPerSecond: 10, Seed: seed}),
		stripe: stripesim.New(stripesim.Options{
			RequestsPerSecond: 25, FaultSeed: seed, AutomaticTaxProvider: "anrok",
			Webhooks:            func(string) (string, string) { return webhookURL(), webhookSecret },
			WebhookRetryBackoff: time.Second,
		}),
	}
	var err error
	if s.anrokURL, err = s.serve(s.anrok); err != nil {
		return nil, err
	}
	if s.stripeURL, err = s.serve(s.stripe); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *simulators) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for a simulator: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), nil
}

func (s *simulators) close() {
	s.stripe.Close()
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close() // requests still held by a timeout fault
		}
		cancel()
	}
}

// faultsOn turns on the random faults of both simulators: a share of 5xx (Stripe's split
// between failing before and after the write) and of timeouts, which hold the request until
// taxflow gives up. With oneOfEach, one fault of every kind is queued first, so that even
// a short run meets each at least once.
func (s *simulators) faultsOn(cfg Config, oneOfEach bool) error {
	hold := cfg.TimeoutHold
	if oneOfEach {
		for _, f := range []anroksim.Fault{{Kind: anroksim.FaultServerError}, {Kind: anroksim.FaultDelay, Delay: hold}, {Kind: anroksim.FaultRateLimited}} {
			if err := s.anrok.InjectFaults(f, 1); err != nil {
				return fmt.Errorf("anroksim: %w", err)
			}
		}
		for _, mode := range []stripesim.FaultMode{stripesim.FaultBeforeExecute, stripesim.FaultAfterExecute, stripesim.FaultTimeout, stripesim.FaultRateLimited} {
			if err := s.stripe.InjectFault(stripesim.FaultRule{Count: 1, Mode: mode, Hold: stripesim.Duration(hold)}); err != nil {
				return fmt.Errorf("stripesim: %w", err)
			}
		}
	}
	err := s.anrok.SetFaultRates(anroksim.FaultRates{ServerError: cfg.ServerErrorRate, Timeout: cfg.TimeoutRate, TimeoutDelay: hold})
	if err != nil {
		return fmt.Errorf("anroksim: %w", err)
	}
	err = s.stripe.SetRandomFaults(stripesim.RandomFaults{
		BeforeExecute: cfg.ServerErrorRate / 2, AfterExecute: cfg.ServerErrorRate / 2,
		Timeout: cfg.TimeoutRate, TimeoutHold: stripesim.Duration(hold),
	})
	if err != nil {
		return fmt.Errorf("stripesim: %w", err)
	}
	return nil
}

// burst429 makes the next n requests of one simulator answer 429.
func (s *simulators) burst429(stripe bool, n int) error {
	if n == 0 {
		return nil
	}
	if stripe {
		return s.stripe.InjectFault(stripesim.FaultRule{Count: n, Mode: stripesim.FaultRateLimited})
	}
	return s.anrok.InjectFaults(anroksim.Fault{Kind: anroksim.FaultRateLimited}, n)
}

// faultsOff stops every fault; what was injected stays counted.
func (s *simulators) faultsOff() {
	s.anrok.ClearFaults()
	s.stripe.ClearFaults()
}

// FaultCounts are the faults the simulators say they injected, by simulator and kind.
type FaultCounts map[string]int64

// injected asks both simulators what they injected.
func (s *simulators) injected() FaultCounts {
	out := FaultCounts{}
	for kind, n := range s.anrok.Stats().FaultsByKind {
		name := map[anroksim.FaultKind]string{anroksim.FaultServerError: "5xx", anroksim.FaultDelay: "timeout",
			anroksim.FaultRateLimited: "429", anroksim.FaultExternalServiceError: "409 externalServiceError"}[kind]
		if name == "" {
			name = string(kind)
		}
		out["anrok "+name] += n
	}
	for mode, n := range s.stripe.Faults().InjectedByMode {
		name := map[stripesim.FaultMode]string{stripesim.FaultBeforeExecute: "5xx (before the write)", stripesim.FaultAfterExecute: "5xx (after the write)",
			stripesim.FaultTimeout: "timeout", stripesim.FaultRateLimited: "429", stripesim.FaultDropConnection: "dropped connection"}[mode]
		if name == "" {
			name = string(mode)
		}
		out["stripe "+name] += n
	}
	return out
}

// overLimit counts the 429s the simulators' own rate limits answered: taxflow going over
// a provider's limit, which it must never do.
func (s *simulators) overLimit() (anrok, stripe int64) {
	return s.anrok.Throttled(), s.stripe.RateLimitedCount()
}
