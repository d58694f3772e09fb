package anroksim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// The simulator dates transactions in IANA zones; embedding the zone database keeps it
	// working on machines and containers without one.
	_ "time/tzdata"
)

// Options configures a Server. The zero value is a working sandbox: any API key, no rate
// limit, no faults, the seller registered everywhere the data file taxes, the seller's
// accounting zone UTC, the real clock.
type Options struct {
	// APIKey, when set, is the only bearer key accepted (401 otherwise). Empty accepts any
	// non-empty key.
	APIKey string
	// ControlToken, when set, is the bearer token the /_sim/ control endpoints require.
	// Empty leaves them open, which is only fit for a loopback address.
	ControlToken string
	// RequestsPerSecond is the rate limit of each API key, shared by every endpoint as
	// Anrok's per-account limit is (each key stands for one seller account); 0 is
	// unlimited. Real Anrok allows 10.
	RequestsPerSecond int
	// SellerTimeZone is the accounting time zone configured for the seller, used to date a
	// transaction sent without accountingDate or accountingTimeZone. Empty means UTC.
	SellerTimeZone string
	// SellerTimeZoneUnset simulates a seller who never configured an accounting zone, so
	// such transactions answer 409 accountingTimeZoneNotSetForSeller.
	SellerTimeZoneUnset bool
	// Now is the simulator's clock (nil: time.Now). Tests pin it to make dates, the
	// rate limit and list times deterministic.
	Now func() time.Time
	// Seed seeds the random fault draws, so a chaos run can be replayed.
	Seed uint64
	// Logger receives the simulator's own events (injected faults, throttling); nil
	// discards them. Request bodies, addresses and keys are never logged.
	Logger *slog.Logger

	// NoNexus lists jurisdiction ids of the data file ("us-FL", "ca", "au") where the
	// simulated seller is not registered: they, and their states and locals, answer
	// notCollecting.
	NoNexus []string

	// The fault settings the simulator starts with, and returns to on Reset. They can be
	// changed at run time (SetFaultRates, SetLatency, ForceConflict, SetFreezeOnCommit, or
	// the /_sim/faults endpoints).
	FaultRates      FaultRates
	Latency         time.Duration
	ForcedConflicts []ForcedConflict
	FreezeOnCommit  FreezeOnCommit
}

// Validate reports an unusable Options.
func (o Options) Validate() error {
	if o.RequestsPerSecond < 0 {
		return fmt.Errorf("anroksim: RequestsPerSecond %d is negative", o.RequestsPerSecond)
	}
	if o.SellerTimeZone != "" {
		if _, err := time.LoadLocation(o.SellerTimeZone); err != nil {
			return fmt.Errorf("anroksim: SellerTimeZone: %w", err)
		}
	}
	for _, id := range o.NoNexus {
		if jurisdictions.byID[id] == nil {
			return fmt.Errorf("anroksim: NoNexus: unknown jurisdiction id %q", id)
		}
	}
	if err := o.FaultRates.validate(); err != nil {
		return err
	}
	if o.Latency < 0 {
		return fmt.Errorf("anroksim: negative Latency %s", o.Latency)
	}
	for _, c := range o.ForcedConflicts {
		if err := c.normalize(); err != nil {
			return err
		}
	}
	return nil
}

// Server simulates one Anrok seller account. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	opts      Options
	now       func() time.Time
	sellerLoc *time.Location // nil when the seller has no accounting zone
	log       *slog.Logger
	control   http.Handler
	limiter   *keyedRateLimiter
	faults    *faultInjector
	noNexus   map[string]bool

	requests  atomic.Int64
	throttled atomic.Int64
	// faultsMu guards faultsByKind, the faults served by kind.
	faultsMu     sync.Mutex
	faultsByKind map[FaultKind]int64

	// mu guards the account's state: everything below.
	mu        sync.Mutex
	products  map[string]Product
	customers map[string]string // id → name
	txns      map[string]*storedTxn
	certs     map[string]*storedCert
	certNum   uint64 // numbers certificate ids
	seq       uint64 // orders creations and modifications; never reused
}

// New returns a simulator for opts. It panics if opts fails Validate: options are written
// by a programmer or checked by the command that reads them.
func New(opts Options) *Server {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	s := &Server{opts: opts, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if !opts.SellerTimeZoneUnset {
		s.sellerLoc = time.UTC
		if opts.SellerTimeZone != "" {
			s.sellerLoc, _ = time.LoadLocation(opts.SellerTimeZone)
		}
	}
	s.noNexus = map[string]bool{}
	for _, id := range opts.NoNexus {
		s.noNexus[id] = true
	}
	s.limiter = newKeyedRateLimiter(opts.RequestsPerSecond)
	s.faults = newFaultInjector(opts.Seed)
	s.control = s.controlHandler()
	s.resetState()
	s.startFaults()
	return s
}

func (s *Server) resetState() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.products = defaultProducts()
	s.customers = map[string]string{}
	s.txns = map[string]*storedTxn{}
	s.certs = map[string]*storedCert{}
	s.certNum = 0
}

// startFaults puts in force the fault settings of the Options (already validated).
func (s *Server) startFaults() {
	f := s.faults
	f.clear()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rates = s.opts.FaultRates
	f.latency = s.opts.Latency
	for _, c := range s.opts.ForcedConflicts {
		_ = c.normalize()
		f.conflicts = append(f.conflicts, c)
	}
	f.freeze = FreezeOnCommit{All: s.opts.FreezeOnCommit.All, IDs: slices.Clone(s.opts.FreezeOnCommit.IDs)}
}

// Reset returns the account to its starting state: the three default products, no
// customers, transactions or certificates, the fault settings of the Options (none by
// default), fresh counters and rate-limit windows.
func (s *Server) Reset() {
	s.resetState()
	s.startFaults()
	s.limiter.reset()
	s.requests.Store(0)
	s.throttled.Store(0)
	s.faultsMu.Lock()
	s.faultsByKind = nil
	s.faultsMu.Unlock()
}

// countFault counts one fault served.
func (s *Server) countFault(kind FaultKind) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	if s.faultsByKind == nil {
		s.faultsByKind = map[FaultKind]int64{}
	}
	s.faultsByKind[kind]++
}

// Stats counts what the simulator has served since it started or was Reset.
type Stats struct {
	// Requests is every request to the Anrok API endpoints, whatever the answer.
	Requests int64 `json:"requests"`
	// Throttled is the number of 429 answers.
	Throttled int64 `json:"throttled"`
	// Faults is the number of injected faults served (errors, delays, 429s and forced
	// 409s); FaultsByKind splits it by kind. Throttled does not count injected 429s.
	Faults       int64               `json:"faults"`
	FaultsByKind map[FaultKind]int64 `json:"faultsByKind,omitempty"`
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	st := Stats{Requests: s.requests.Load(), Throttled: s.throttled.Load()}
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	for _, n := range s.faultsByKind {
		st.Faults += n
	}
	if len(s.faultsByKind) > 0 {
		st.FaultsByKind = maps.Clone(s.faultsByKind)
	}
	return st
}

// Throttled is the number of 429 answers served: what a benchmark of a rate-limited
// client checks stays at zero.
func (s *Server) Throttled() int64 { return s.throttled.Load() }

// maxRequestBody bounds a request body; Anrok's own limit is not documented, and a
// transaction of thousands of lines fits well within it.
const maxRequestBody = 10 << 20

// apiHandler serves one endpoint; arg is the id taken from the path, if any.
type apiHandler func(s *Server, arg string, body []byte) (any, *apiError)

// endpoint is one Anrok API endpoint the simulator serves.
type endpoint struct {
	// name is how fault rules name it: "transactions/createOrUpdate", "certificates/get".
	name   string
	handle apiHandler
	// path is the exact path, or for an endpoint with an id the parts around it.
	path, idPrefix, idSuffix string
}

const (
	pathTransactions = "/v1/seller/transactions/"
	pathProducts     = "/v1/seller/products/"
	pathCertificates = "/v1/seller/certificates/"
)

var endpoints = []endpoint{
	{name: "transactions/createEphemeral", handle: (*Server).handleCreateEphemeral, path: pathTransactions + "createEphemeral"},
	{name: "transactions/createOrUpdate", handle: (*Server).handleCreateOrUpdate, path: pathTransactions + "createOrUpdate"},
	{name: "transactions/void", handle: (*Server).handleVoid, idPrefix: pathTransactions + "id:", idSuffix: "/void"},
	{name: "transactions/createNegation", handle: (*Server).handleCreateNegation, path: pathTransactions + "createNegation"},
	{name: "transactions/list", handle: (*Server).handleList, path: pathTransactions + "list"},
	{name: "products/create", handle: (*Server).handleProductCreate, path: pathProducts + "create"},
	{name: "products/get", handle: (*Server).handleProductGet, idPrefix: pathProducts + "externalId:", idSuffix: "/get"},
	{name: "productTaxCategories/list", handle: (*Server).handleTaxCategoriesList, path: "/v1/seller/productTaxCategories/list"},
	{name: "certificates/create", handle: (*Server).handleCertificateCreate, path: pathCertificates + "create"},
	{name: "certificates/list", handle: (*Server).handleCertificateList, path: pathCertificates + "list"},
	{name: "certificates/get", handle: (*Server).handleCertificateGet, idPrefix: pathCertificates + "id:", idSuffix: "/get"},
	{name: "certificates/archive", handle: (*Server).handleCertificateArchive, idPrefix: pathCertificates + "id:", idSuffix: "/archive"},
}

// Endpoints lists the names of the endpoints the simulator serves, as fault rules name
// them. A transactions endpoint may also be named without its "transactions/" prefix.
func Endpoints() []string {
	out := make([]string, len(endpoints))
	for i, e := range endpoints {
		out[i] = e.name
	}
	return out
}

// endpointName finds the canonical name of an endpoint.
func endpointName(name string) (string, bool) {
	name = strings.Trim(strings.TrimPrefix(strings.TrimSpace(name), "/v1/seller/"), "/")
	for _, e := range endpoints {
		if e.name == name || e.name == "transactions/"+name {
			return e.name, true
		}
	}
	return "", false
}

// route maps an escaped request path to its endpoint and the id in the path, if any.
func route(escapedPath string) (endpoint, string, bool) {
	for _, e := range endpoints {
		if e.path != "" && e.path == escapedPath {
			return e, "", true
		}
	}
	for _, e := range endpoints {
		if e.path != "" {
			continue
		}
		if id, ok := pathID(escapedPath, e.idPrefix, e.idSuffix); ok {
			return e, id, true
		}
	}
	return endpoint{}, "", false
}

// pathID extracts the id of a path like prefix{id}suffix. The id is one escaped path
// segment, so an id containing '/' arrives as %2F and is unescaped here.
func pathID(escapedPath, prefix, suffix string) (string, bool) {
	if !strings.HasPrefix(escapedPath, prefix) || !strings.HasSuffix(escapedPath, suffix) || len(escapedPath) <= len(prefix)+len(suffix) {
		return "", false
	}
	raw := escapedPath[len(prefix) : len(escapedPath)-len(suffix)]
	if strings.Contains(raw, "/") {
		return "", false
	}
	id, err := url.PathUnescape(raw)
	if err != nil || id == "" {
		return "", false
	}
	return id, true
}

// ServeHTTP serves Anrok's API and, under /_sim/, the simulator's control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.control.ServeHTTP(w, r)
		return
	}
	s.requests.Add(1)

	// Added latency holds every request, whatever its answer; like a slow network, it
	// does not stop the request from being served once the client has gone.
	if d := s.faults.getLatency(); d > 0 {
		wait(r, d)
	}

	key, ok := s.authorized(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, "Unauthorized: missing or invalid API key.")
		return
	}
	ep, arg, ok := route(r.URL.EscapedPath())
	if !ok {
		writeJSON(w, http.StatusNotFound, "Not found: anroksim does not serve "+r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, "Every Anrok endpoint is a POST.")
		return
	}

	// Anrok's limit is per seller account, which a sandbox key stands for, and shared by
	// all endpoints; it is counted before the request is looked at.
	if allowed, retryAfter := s.limiter.allow(key, s.now()); !allowed {
		s.throttled.Add(1)
		s.writeThrottled(w, retryAfter)
		s.log.Debug("anroksim: throttled", "path", r.URL.Path)
		return
	}

	// The whole body is read before any injected delay, so a client that gives up is
	// noticed (its request context ends) while the simulator waits.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, "Request body: could not be read.")
		return
	}
	if len(body) > maxRequestBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, "Request body: too large.")
		return
	}

	if code, forced := s.faults.conflictFor(ep.name); forced {
		s.countFault(FaultForcedConflict)
		s.log.Info("anroksim: forcing a conflict", "type", code, "endpoint", ep.name)
		writeJSON(w, http.StatusConflict, conflictBody{Type: code})
		return
	}

	if f, ok := s.faults.next(); ok {
		s.countFault(f.Kind)
		s.log.Info("anroksim: injecting fault", "kind", f.Kind, "delay", f.Delay, "path", r.URL.Path)
		switch f.Kind {
		case FaultServerError:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "Internal Server Error")
			return
		case FaultExternalServiceError:
			writeJSON(w, http.StatusConflict, conflictBody{Type: codeExternalServiceError})
			return
		case FaultRateLimited:
			s.writeThrottled(w, time.Second)
			return
		case FaultDelay:
			// After the delay the request is served as usual, even if the client has
			// already given up: like a slow real server, the call may take effect
			// without the client learning of it.
			wait(r, f.Delay)
		}
	}

	out, apiErr := ep.handle(s, arg, body)
	if apiErr != nil {
		writeJSON(w, apiErr.status, apiErr.body)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// writeThrottled answers Anrok's 429: plain text, with the seconds to wait in Retry-After.
func (s *Server) writeThrottled(w http.ResponseWriter, retryAfter time.Duration) {
	secs := int64((retryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	fmt.Fprintf(w, "You've exceeded your API limit of %d per second", s.opts.RequestsPerSecond)
}

// wait holds a request for d, or until its client gives up.
func wait(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// authorized checks the bearer key and returns it. Comparisons are constant-time so the
// simulator does not teach clients to leak keys through timing either.
func (s *Server) authorized(r *http.Request) (string, bool) {
	key, ok := bearer(r)
	if !ok {
		return "", false
	}
	if s.opts.APIKey == "" {
		return key, true
	}
	return key, subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.APIKey)) == 1
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the simulator's own types are marshalled; failing here is a bug.
		status = http.StatusInternalServerError
		b, _ = json.Marshal("anroksim: cannot encode the answer: " + err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// ErrNotFound is returned by the Go accessors for a transaction the simulator does not
// hold.
var ErrNotFound = errors.New("anroksim: no such transaction")
