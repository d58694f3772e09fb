// Package failure classifies the errors of taxflow's providers (Anrok, Stripe) and of its own
// checks, once, into what an operator or the retry machinery must do about them.
//
// A provider client turns every error it sees into a *Error with a Class and a Code; nothing
// above the client inspects HTTP status codes again. The package knows nothing of Temporal:
// the activities translate a Class into a retry decision.
package failure

import (
	"errors"
	"fmt"
	"time"

	"github.com/taxflow/taxflow/internal/ratelimit"
)

// Class says what has to happen for a failed call to succeed.
type Class string

const (
	// Retryable: a transient fault (5xx, timeout, network, Anrok's externalServiceError).
	// Retrying the same request later is expected to work.
	Retryable Class = "retryable"
	// RateLimited: the provider refused the call for exceeding its rate limit. Retry after
	// RetryAfter (or with backoff when the provider does not say).
	RateLimited Class = "rate_limited"
	// NeedsPerson: retrying the same request can never work; a person must change
	// configuration or data (map a product, fix an address, replace an API key) first.
	NeedsPerson Class = "needs_person"
)

// Provider names where an error came from.
const (
	ProviderAnrok   = "anrok"
	ProviderStripe  = "stripe"
	ProviderTaxflow = "taxflow"
)

// Error is a classified error. Code is stable and machine-readable (Anrok's own 409 type,
// Stripe's error code, or one of taxflow's snake_case codes); Message says what to fix.
type Error struct {
	Provider   string
	Class      Class
	Code       string
	Message    string
	HTTPStatus int
	// RetryAfter is the provider's requested delay for RateLimited errors (0: unknown).
	RetryAfter time.Duration
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s (%s): %s", e.Provider, e.Code, e.Class, e.Message)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// ClassOf returns the class of err: the class of the *Error in its chain, or Retryable for
// an unclassified error (an unknown fault is assumed transient, never silently fatal).
func ClassOf(err error) Class {
	if fe, ok := As(err); ok {
		return fe.Class
	}
	return Retryable
}

// NeedsPersonError builds a NeedsPerson error.
func NeedsPersonError(provider, code, message string) *Error {
	return &Error{Provider: provider, Class: NeedsPerson, Code: code, Message: message}
}

// RetryableError builds a Retryable error around a cause.
func RetryableError(provider, code, message string, cause error) *Error {
	return &Error{Provider: provider, Class: Retryable, Code: code, Message: message, Err: cause}
}

// CodeRateLimitQueued: taxflow's own rate limiter deferred the call — the account's
// requests for the next seconds are spoken for — and nothing was sent. Not a provider
// error: the activity is retried after RetryAfter.
const CodeRateLimitQueued = "rate_limit_queued"

// Queued returns the RateLimited error for a call the rate limiter deferred, or nil when
// err is not a deferral (a *ratelimit.BacklogError in its chain).
func Queued(provider, op string, err error) *Error {
	be, ok := ratelimit.AsBacklog(err)
	if !ok {
		return nil
	}
	return &Error{Provider: provider, Class: RateLimited, Code: CodeRateLimitQueued, RetryAfter: be.RetryAfter,
		Message: op + ": waiting for a send slot under the account's rate limit (nothing sent): " + be.Error(), Err: be}
}
