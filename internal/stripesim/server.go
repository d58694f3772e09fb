package stripesim

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// APIVersion is the Stripe API version the simulator speaks: the one stripe-go v82 pins.
const APIVersion = "2025-08-27.basil"

// Options configures a Server. The zero value is a working simulator: any sk_test_ key is
// accepted, there is no rate limit and time is the wall clock.
type Options struct {
	// APIKey, when set, is the only secret key accepted; otherwise any sk_test_ key is, and each
	// distinct key is its own Stripe account with its own objects.
	APIKey string
	// RequestsPerSecond limits each account's request rate like Stripe's rate limiter
	// (Stripe's test mode allows 25 per second); 0 means unlimited.
	RequestsPerSecond int
	// Now is the clock behind every timestamp the simulator writes (created, finalized_at,
	// due_date, idempotency-key expiry). Tests inject a fixed or stepping clock here. The
	// rate limiter always uses the real clock: it limits real traffic.
	Now func() time.Time
	// ControlToken, when set, is the bearer token the /_sim/ control endpoints require.
	ControlToken string
	// RequestLogSize bounds the request log; the oldest records are dropped first.
	// 0 means DefaultRequestLogSize.
	RequestLogSize int
	// FaultSeed seeds the random fault rate, so a run with faults can be repeated.
	FaultSeed uint64
	// Logger receives one record per API request; nil discards them.
	Logger *slog.Logger
	// AccountCountry is the country of every simulated account (invoice account_country);
	// "" means "US".
	AccountCountry string
	// DefaultCurrency is every account's default currency, used when neither the request nor
	// the customer names one; "" means "usd".
	DefaultCurrency string
	// AutomaticTaxProvider is what invoices with automatic tax report as automatic_tax.provider;
	// "" means "stripe" (an account with the Anrok Stripe app would say "anrok").
	//
	// With "stripe" the simulated Stripe Tax answers at once and charges no tax. With "anrok"
	// the simulator plays the Anrok Stripe app: tax is computed asynchronously, after
	// AutomaticTaxDelay, by the documented rate table (see the package documentation).
	AutomaticTaxProvider string
	// AutomaticTaxDelay is how long the Anrok app takes to compute the tax of a draft after
	// it is created or its lines change; 0 means DefaultAutomaticTaxDelay.
	AutomaticTaxDelay time.Duration
	// AutomaticTaxOutcome is how the Anrok app's calculations end for every account (until
	// changed with SetAutomaticTaxOutcome); "" means AutomaticTaxCompletes.
	AutomaticTaxOutcome AutomaticTaxOutcome

	// Webhooks, when set, names the webhook endpoint of each account: it is called with the
	// account's secret key when an event happens, and an empty url means the account has no
	// endpoint. It must not call back into the Server. SetWebhookEndpoint (and
	// PUT /_sim/webhooks) take precedence over it.
	Webhooks func(accountKey string) (url, secret string)
	// WebhookMaxAttempts is how many times a delivery is attempted before it is given up;
	// 0 means DefaultWebhookMaxAttempts.
	WebhookMaxAttempts int
	// WebhookRetryBackoff is the wait before the first retry; it doubles for each further
	// retry (at most 5 minutes). 0 means DefaultWebhookRetryBackoff.
	WebhookRetryBackoff time.Duration
	// WebhookTimeout bounds one delivery attempt; 0 means DefaultWebhookTimeout.
	WebhookTimeout time.Duration
	// WebhookHTTPClient sends the deliveries; nil means a client that follows no redirects.
	WebhookHTTPClient *http.Client
	// WebhookLogSize bounds the delivery log; 0 means DefaultWebhookLogSize.
	WebhookLogSize int
}

// DefaultRequestLogSize is the request log's bound when Options.RequestLogSize is 0.
const DefaultRequestLogSize = 10000

// Server is the simulator: an http.Handler serving Stripe's /v1 API and the /_sim/ control
// endpoints. It is safe for concurrent use and holds no global state, so tests can run
// many servers side by side.
type Server struct {
	opts   Options
	logger *slog.Logger
	mux    *http.ServeMux

	mu          sync.Mutex // guards accounts, accountOrder, clockOffset
	accounts    map[string]*account
	accountList []*account
	clockOffset time.Duration

	ids         idSource
	faults      *faultInjector
	requests    *requestLog
	rateLimited atomic.Int64
	webhooks    *webhookDispatcher
	tax         *anrokApp

	// epoch changes on Reset, so timers armed before it do nothing after it.
	epoch  atomic.Int64
	closed atomic.Bool
}

// New builds a simulator.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RequestLogSize <= 0 {
		opts.RequestLogSize = DefaultRequestLogSize
	}
	if opts.AccountCountry == "" {
		opts.AccountCountry = "US"
	}
	if opts.DefaultCurrency == "" {
		opts.DefaultCurrency = "usd"
	}
	if opts.AutomaticTaxProvider == "" {
		opts.AutomaticTaxProvider = "stripe"
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:     opts,
		logger:   logger,
		accounts: map[string]*account{},
		ids:      idSource{next: map[string]int64{}},
		faults:   newFaultInjector(opts.FaultSeed),
		requests: newRequestLog(opts.RequestLogSize),
	}
	s.webhooks = newWebhookDispatcher(s, opts)
	s.tax = newAnrokApp(opts)
	s.mux = s.routes()
	return s
}

// Close stops the simulator's background work: queued webhook deliveries are dropped,
// attempts in flight are aborted, and pending automatic-tax calculations never run. The
// handler keeps answering requests. Call FlushWebhooks first to let deliveries finish.
func (s *Server) Close() {
	s.closed.Store(true)
	s.webhooks.close()
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// now is the simulated time in Unix seconds, the unit of every Stripe timestamp.
func (s *Server) now() int64 {
	s.mu.Lock()
	offset := s.clockOffset
	s.mu.Unlock()
	return s.opts.Now().Add(offset).Unix()
}

// AdvanceClock moves the simulator's clock forward (or back, for a negative d) on top of
// Options.Now, for instance past Stripe's 24-hour idempotency-key retention.
func (s *Server) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	s.clockOffset += d
	s.mu.Unlock()
}

// Reset forgets every account, object, idempotency key, request record and fault, as if the
// simulator had just started. The clock offset and counters of rate-limited requests reset too,
// and so do the webhook endpoints, queued deliveries and delivery log, the automatic-tax
// settings made at run time, and pending automatic-tax calculations. What Options configured
// stays.
func (s *Server) Reset() {
	s.epoch.Add(1)
	s.webhooks.reset()
	s.tax.reset()
	s.mu.Lock()
	s.accounts = map[string]*account{}
	s.accountList = nil
	s.clockOffset = 0
	s.mu.Unlock()
	s.ids.reset()
	s.faults.clear(true)
	s.requests.clear()
	s.rateLimited.Store(0)
}

// accountFor returns the account of an API key, creating it on first use: in the simulator
// every accepted key is a fresh, empty Stripe account.
func (s *Server) accountFor(key string) *account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[key]; ok {
		return a
	}
	a := newAccount(key, s.ids.next1("acct"), s.opts.RequestsPerSecond)
	s.accounts[key] = a
	s.accountList = append(s.accountList, a)
	return a
}

// allAccounts lists the accounts in the order they were first used.
func (s *Server) allAccounts() []*account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*account(nil), s.accountList...)
}

// RedactKey renders an API key the way Stripe names it in errors: the prefix, asterisks and
// the last four characters (sk_test_****abcd). The whole key is never echoed.
func RedactKey(key string) string {
	prefix := ""
	if i := strings.Index(key, "_"); i >= 0 {
		if j := strings.Index(key[i+1:], "_"); j >= 0 && i+1+j+1 <= 12 {
			prefix = key[:i+1+j+1]
		}
	}
	last4 := ""
	if len(key)-len(prefix) > 4 {
		last4 = key[len(key)-4:]
	}
	return prefix + "****" + last4
}

// idSource mints deterministic ids: a prefix, "_sim_" and a per-prefix counter
// (in_sim_000001). They sort in creation order and never collide across accounts, like
// Stripe's, and a test that repeats the same requests gets the same ids.
type idSource struct {
	mu   sync.Mutex
	next map[string]int64
}

func (g *idSource) next1(prefix string) string {
	g.mu.Lock()
	g.next[prefix]++
	n := g.next[prefix]
	g.mu.Unlock()
	return fmt.Sprintf("%s_sim_%06d", prefix, n)
}

// counter returns the next value of a named counter without formatting it.
func (g *idSource) counter(name string) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next[name]++
	return g.next[name]
}

func (g *idSource) reset() {
	g.mu.Lock()
	g.next = map[string]int64{}
	g.mu.Unlock()
}
