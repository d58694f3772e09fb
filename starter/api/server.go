// Package api is taxflow's public HTTP API (the contract in docs/product.md): configuration
// of accounts, connections, products and customers, invoices in, invoice state out, and the
// operator actions that become workflow signals. It validates and stores; it never calls
// Stripe or Anrok (the workflow does) and never reads from workflow queries (Postgres is the
// read model).
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/estimate"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/workflows"
)

// Workflows is what the API needs of Temporal (workflows.Client in production).
type Workflows interface {
	// StartInvoice starts the invoice's workflow; starting it again is harmless.
	StartInvoice(ctx context.Context, invoiceID string) error
	// Signal sends a signal to the invoice's workflow (starting it again if it ended).
	Signal(ctx context.Context, invoiceID, signal string, arg any) error
	// ForwardStripeDispute hands a Stripe dispute event to the workflow that finds its
	// invoice.
	ForwardStripeDispute(ctx context.Context, in activities.DisputeEventInput) error
	// StartBulkRetry starts a retry of every failed invoice; BulkRetryOutcome reads it.
	StartBulkRetry(ctx context.Context, id string, in workflows.BulkRetryInput) error
	BulkRetryOutcome(ctx context.Context, id string) (running bool, res *workflows.BulkRetryResult, err error)
}

var _ Workflows = workflows.Client{}

// Server serves the API.
type Server struct {
	Store     *store.Store
	Secrets   *secretbox.Keyring
	Workflows Workflows
	// Tokens are the accepted bearer tokens (several during a rotation).
	Tokens []string
	// Estimator answers POST /v1/tax/estimate.
	Estimator *estimate.Estimator
	// Reconciler answers GET /v1/reconciliation (nil: 503).
	Reconciler Reconciler
	// Codec is served at /codec for the Temporal UI (nil: not served); CodecOpen serves it
	// without the API token (development); CodecOrigins are the UI's origins.
	Codec        converter.PayloadCodec
	CodecOpen    bool
	CodecOrigins []string
	// Ready checks the dependencies for /readyz.
	Ready Readiness
	// Metrics serves /metrics and counts webhooks (nil: neither).
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Now     func() time.Time
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		mux.Handle(pattern, s.authenticated(s.errors(h)))
	}
	handle("PUT /v1/stripe-accounts/{id}", s.putStripeAccount)
	handle("GET /v1/stripe-accounts/{id}", s.getStripeAccount)
	handle("PUT /v1/anrok-connections/{id}", s.putAnrokConnection)
	handle("GET /v1/anrok-connections/{id}", s.getAnrokConnection)
	handle("PUT /v1/products/{id}", s.putProduct)
	handle("GET /v1/products/{id}", s.getProduct)
	handle("PUT /v1/customers/{id}", s.putCustomer)
	handle("GET /v1/customers/{id}", s.getCustomer)
	handle("POST /v1/invoices", s.postInvoice)
	handle("GET /v1/invoices", s.listInvoices)
	handle("POST /v1/invoices/retry-failed", s.retryFailed)
	handle("POST /v1/tax/estimate", s.postEstimate)
	handle("GET /v1/reconciliation", s.reconcile)
	handle("GET /v1/bulk-retries/{id}", s.getBulkRetry)
	handle("GET /v1/invoices/{id}", s.getInvoice)
	handle("POST /v1/invoices/{id}/retry", s.retryInvoice)
	handle("POST /v1/invoices/{id}/void", s.voidInvoice)
	handle("POST /v1/invoices/{id}/disputes", s.postDispute)
	handle("POST /v1/invoices/{id}/credit-notes", s.postCreditNote)
	handle("POST /v1/invoices/{id}/refresh-tax", s.refreshTax)
	handle("POST /v1/invoices/{id}/finalize", s.finalizeNow)
	handle("PUT /v1/webhook-endpoints/{id}", s.putWebhookEndpoint)
	handle("GET /v1/webhook-endpoints/{id}", s.getWebhookEndpoint)
	handle("DELETE /v1/webhook-endpoints/{id}", s.deleteWebhookEndpoint)
	// Verified by its Stripe signature, not the bearer token.
	mux.Handle("POST /v1/webhooks/stripe/{stripe_account_id}", s.errors(s.stripeWebhook))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.Handler())
	}
	if s.Codec != nil {
		mux.Handle("/codec/", s.codecHandler(s.Codec))
	}
	// Anything else: the contract's 404 shape, not the mux's text.
	mux.Handle("/", s.errors(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(http.StatusNotFound, "not_found", "", fmt.Sprintf("no endpoint %s %s: see the API in the README", r.Method, r.URL.Path))
	}))
	return s.recovered(mux)
}

func (s *Server) errors(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, s.Log.With("method", r.Method, "path", r.URL.Path), err)
		}
	})
}

// recovered turns a panic into a logged 500 in the contract's shape.
func (s *Server) recovered(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.Log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, s.Log, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticated requires one of the bearer tokens, compared in constant time.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The scheme is case-insensitive (RFC 7235): "bearer" is "Bearer"; the token is not.
		scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") && s.tokenValid(got) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="taxflow"`)
		writeError(w, s.Log, errorf(http.StatusUnauthorized, "unauthorized", "", "send Authorization: Bearer <token> with a token from TAXFLOW_API_TOKEN"))
	})
}

func (s *Server) tokenValid(got string) bool {
	if got == "" {
		return false
	}
	// Digests, not the tokens: ConstantTimeCompare returns at once on a length mismatch,
	// which would tell a prober the tokens' length.
	sum := sha256.Sum256([]byte(got))
	valid := 0
	for _, t := range s.Tokens {
		// Compare against every token, so timing does not tell which one matched.
		want := sha256.Sum256([]byte(t))
		valid |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	return valid == 1
}
