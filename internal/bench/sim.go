package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// simulator serves one of taxflow's simulators (Anrok's or Stripe's) over HTTP on a
// loopback port and records every API call it answers — when, and with which status — so
// that a scenario counts the calls taxflow really made, and the 429s it received, instead
// of trusting the README's arithmetic.
type simulator struct {
	name string
	url  string
	srv  *http.Server
	next http.Handler

	mu    sync.Mutex
	calls []simCall
}

// simCall is one API request the simulator answered.
type simCall struct {
	at     time.Time
	status int
	path   string
}

// startSimulator serves handler on a free loopback port.
func startSimulator(name string, handler http.Handler) (*simulator, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("%s simulator: %w", name, err)
	}
	s := &simulator{name: name, url: "http://" + ln.Addr().String(), next: handler}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// ServeHTTP passes the request on and records API calls (not the /_sim/ control endpoints).
func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim") {
		s.next.ServeHTTP(w, r)
		return
	}
	rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.next.ServeHTTP(rec, r)
	s.mu.Lock()
	s.calls = append(s.calls, simCall{at: time.Now(), status: rec.status, path: r.URL.Path})
	s.mu.Unlock()
}

// mark is a position in the call log: callsSince(mark) counts the calls after it.
func (s *simulator) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// CallStats counts the calls a simulator answered.
type CallStats struct {
	// Answered is every call answered other than with 429: the calls the provider's limit
	// is about.
	Answered int `json:"answered"`
	// Throttled is the 429 answers.
	Throttled int `json:"throttled_429"`
	// ByPath counts the answered calls per path pattern (ids replaced by {id}).
	ByPath map[string]int `json:"by_path"`
	// throttledAt are the times of the 429 answers.
	throttledAt []time.Time
}

func (s *simulator) callsSince(mark int) CallStats {
	s.mu.Lock()
	calls := append([]simCall(nil), s.calls[mark:]...)
	s.mu.Unlock()
	st := CallStats{ByPath: map[string]int{}}
	for _, c := range calls {
		if c.status == http.StatusTooManyRequests {
			st.Throttled++
			st.throttledAt = append(st.throttledAt, c.at)
			continue
		}
		st.Answered++
		st.ByPath[pathPattern(c.path)]++
	}
	return st
}

// pathPattern replaces the ids in a Stripe or Anrok path by {id}.
func pathPattern(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		switch {
		case strings.HasPrefix(part, "id:"), strings.HasPrefix(part, "externalId:"):
			parts[i] = "{id}"
		case i > 2 && strings.Contains(part, "_") && strings.ContainsAny(part, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
			parts[i] = "{id}" // a Stripe id (in_1Ab…), not an action (add_lines)
		}
	}
	return strings.Join(parts, "/")
}

func (s *simulator) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop the %s simulator: %w", s.name, err)
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
