package stripesim

import (
	"path"
	"sync"
)

// RequestRecord is one API request as the simulator saw it. Tests count calls with it: how
// many times an invoice was finalized, whether a retry reused its idempotency key.
type RequestRecord struct {
	Seq       int64  `json:"seq"`
	RequestID string `json:"request_id"`
	// Time is the simulated Unix time the request arrived.
	Time int64 `json:"time"`
	// Account is the request's API key redacted to its last four characters; "" when the
	// request carried no usable key.
	Account        string `json:"account,omitempty"`
	Method         string `json:"method"`
	Path           string `json:"path"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	Status         int    `json:"status"`
	// Replayed is true when the response was a saved idempotent response.
	Replayed bool `json:"replayed,omitempty"`
	// Fault names the injected fault mode, if any.
	Fault FaultMode `json:"fault,omitempty"`
	// ObjectID is the id of the object the response carried (a new invoice's id, say).
	ObjectID string `json:"object_id,omitempty"`
	// ErrorType and ErrorCode repeat the error of a failed request.
	ErrorType string `json:"error_type,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
}

// requestLog is a bounded ring of records: a long-running sandbox must not grow without end.
type requestLog struct {
	mu      sync.Mutex
	size    int
	records []RequestRecord // ring buffer
	start   int             // index of the oldest record
	seq     int64
}

func newRequestLog(size int) *requestLog { return &requestLog{size: size} }

func (l *requestLog) add(r RequestRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	r.Seq = l.seq
	if len(l.records) < l.size {
		l.records = append(l.records, r)
		return
	}
	l.records[l.start] = r
	l.start = (l.start + 1) % l.size
}

func (l *requestLog) all() []RequestRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RequestRecord, 0, len(l.records))
	out = append(out, l.records[l.start:]...)
	out = append(out, l.records[:l.start]...)
	return out
}

func (l *requestLog) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records, l.start = nil, 0
}

// Requests returns the logged API requests, oldest first (at most Options.RequestLogSize).
func (s *Server) Requests() []RequestRecord { return s.requests.all() }

// CountRequests counts logged requests by method ("" for any) and a path.Match pattern
// ("/v1/invoices/*/finalize"; "" for any).
func (s *Server) CountRequests(method, pathPattern string) int {
	n := 0
	for _, r := range s.requests.all() {
		if method != "" && r.Method != method {
			continue
		}
		if pathPattern != "" {
			if ok, err := path.Match(pathPattern, r.Path); err != nil || !ok {
				continue
			}
		}
		n++
	}
	return n
}

// RateLimitedCount is the number of requests refused with 429 rate_limit so far.
func (s *Server) RateLimitedCount() int64 { return s.rateLimited.Load() }
