// Package activities holds the invoice workflow's activities: every call to Stripe, Anrok
// and PostgreSQL the workflow makes. Activities are methods on Activities, which holds their
// dependencies; the workflow refers to them through a nil *Activities so names stay typed.
//
// Each activity loads what it needs from Postgres by invoice id (workflow inputs and results
// stay small: ids and totals), calls one provider, and saves the result right after. Errors
// leave here classified: a failure.NeedsPerson error becomes a non-retryable Temporal
// application error whose type is the error code; everything else is retried by Temporal,
// forever if need be, with the provider's Retry-After honoured.
package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/metrics"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// BillingFactory builds the billing provider of a Stripe account from its row and its
// decrypted API key.
type BillingFactory func(acct sqldb.StripeAccount, apiKey string) billing.Provider

// TaxEngineFactory builds the tax engine of an Anrok connection from its row and its
// decrypted API key.
type TaxEngineFactory func(conn sqldb.AnrokConnection, apiKey string) tax.Engine

// Activities are the invoice workflow's activities and their dependencies.
type Activities struct {
	Store     *store.Store
	Secrets   *secretbox.Keyring
	Billing   BillingFactory
	TaxEngine TaxEngineFactory
	// DefaultTaxWait is TAXFLOW_TAX_WAIT, used when an account sets no tax_wait.
	DefaultTaxWait time.Duration
	// Now is the clock (tests replace it).
	Now func() time.Time
	// SignalInvoice reaches an invoice's workflow (Stripe dispute events).
	SignalInvoice InvoiceSignaler
	// Metrics counts provider errors and finalization times (nil: none).
	Metrics *metrics.Metrics
	Log     *slog.Logger

	billings   providerCache[billing.Provider]
	taxEngines providerCache[tax.Engine]
}

// providerCache keeps one provider per account, rebuilt when the account's row changes
// (a new API key, a new base URL).
type providerCache[T any] struct {
	mu   sync.Mutex
	byID map[string]cachedProvider[T]
}

type cachedProvider[T any] struct {
	version time.Time
	p       T
}

func (c *providerCache[T]) get(id string, version time.Time, build func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if got, ok := c.byID[id]; ok && got.version.Equal(version) {
		return got.p, nil
	}
	p, err := build()
	if err != nil {
		return p, err
	}
	if c.byID == nil {
		c.byID = map[string]cachedProvider[T]{}
	}
	c.byID[id] = cachedProvider[T]{version, p}
	return p, nil
}

func (a *Activities) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// FailureDetails travel with a needs-person activity error to the workflow.
type FailureDetails struct {
	Provider string
	Class    string
	Code     string
	Message  string
}

// NonRetryable error types that are not provider codes.
const errTypeInternal = "taxflow_internal"

// temporalError converts a classified error into the Temporal error that drives retries,
// counting provider errors by code.
func (a *Activities) temporalError(err error) error {
	if err == nil {
		return nil
	}
	fe, ok := failure.As(err)
	if !ok {
		// Unclassified (a database hiccup, a bug): retried, and visible in the UI as the
		// activity's last failure.
		return err
	}
	details := FailureDetails{Provider: fe.Provider, Class: string(fe.Class), Code: fe.Code, Message: fe.Message}
	// A deferral by taxflow's own rate limiter is no provider error (it has its counter).
	if fe.Provider != failure.ProviderTaxflow && fe.Code != failure.CodeRateLimitQueued {
		a.Metrics.CountProviderError(fe.Provider, fe.Code, string(fe.Class))
	}
	switch fe.Class {
	case failure.NeedsPerson:
		return temporal.NewNonRetryableApplicationError(fe.Message, fe.Code, nil, details)
	case failure.RateLimited:
		return temporal.NewApplicationErrorWithOptions(fe.Message, fe.Code, temporal.ApplicationErrorOptions{
			NextRetryDelay: fe.RetryAfter,
			Details:        []interface{}{details},
		})
	default:
		return temporal.NewApplicationErrorWithOptions(fe.Message, fe.Code, temporal.ApplicationErrorOptions{
			Details: []interface{}{details},
		})
	}
}

// stripeFor returns the billing provider of a Stripe account.
func (a *Activities) stripeFor(acct sqldb.StripeAccount) (billing.Provider, error) {
	return a.billings.get(acct.ID, acct.UpdatedAt, func() (billing.Provider, error) {
		key, err := a.openSecret("stripe_accounts", acct.ID, "Stripe account", "/v1/stripe-accounts/", acct.ApiKeySealed)
		if err != nil {
			return nil, err
		}
		return a.Billing(acct, key), nil
	})
}

// taxEngineFor returns the tax engine of an Anrok connection.
func (a *Activities) taxEngineFor(conn sqldb.AnrokConnection) (tax.Engine, error) {
	return a.taxEngines.get(conn.ID, conn.UpdatedAt, func() (tax.Engine, error) {
		key, err := a.openSecret("anrok_connections", conn.ID, "Anrok connection", "/v1/anrok-connections/", conn.ApiKeySealed)
		if err != nil {
			return nil, err
		}
		return a.TaxEngine(conn, key), nil
	})
}

func (a *Activities) openSecret(table, id, what, path, sealed string) (string, error) {
	key, err := a.Secrets.Open(sealed, SecretPlace(table, id, "api_key"))
	if err != nil {
		return "", failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeSecretUnreadable,
			fmt.Sprintf("the API key of %s %s cannot be decrypted (%v): put the key again with PUT %s%s, or restore the old key in TAXFLOW_SECRET_KEY", what, id, err, path, id))
	}
	return key, nil
}

// SecretPlace is the associated data a secret is sealed under: its table, row and column.
func SecretPlace(table, id, column string) string { return table + "/" + id + "/" + column }

func (a *Activities) logger(ctx context.Context) *slog.Logger {
	l := a.Log
	if l == nil {
		l = slog.Default()
	}
	if activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		l = l.With("workflow_id", info.WorkflowExecution.ID, "activity", info.ActivityType.Name, "attempt", info.Attempt)
		// An invoice's workflow is "invoice/<invoice id>": its lines carry the invoice id
		// too, so one filter finds an invoice's story in the logs.
		if id, ok := strings.CutPrefix(info.WorkflowExecution.ID, "invoice/"); ok {
			l = l.With("invoice_id", id)
		}
	}
	return l
}

// attempt is the activity's attempt number (1 outside an activity).
func attempt(ctx context.Context) int32 {
	if activity.IsActivity(ctx) {
		return activity.GetInfo(ctx).Attempt
	}
	return 1
}
