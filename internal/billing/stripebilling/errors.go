package stripebilling

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/failure"
)

// Codes taxflow gives Stripe failures that need a person.
const (
	CodeUnauthorized    = "stripe_unauthorized"
	CodeCustomerMissing = "stripe_customer_missing"
	CodeIdempotency     = "stripe_idempotency_error"
	CodeInvalidRequest  = "stripe_invalid_request"
	CodeInvoiceState    = "stripe_invoice_state"
)

// classify turns any error of a Stripe call into a *failure.Error, once. op names the call
// for the message ("create draft").
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := failure.As(err); ok {
		return err
	}
	if q := failure.Queued(failure.ProviderStripe, op, err); q != nil {
		return q
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		// Network errors, timeouts, cancelled contexts: transient by nature.
		var ne net.Error
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
			return failure.RetryableError(failure.ProviderStripe, "stripe_unreachable", op+": Stripe did not answer", err)
		}
		return failure.RetryableError(failure.ProviderStripe, "stripe_transport", op+": request to Stripe failed", err)
	}
	fe := &failure.Error{Provider: failure.ProviderStripe, HTTPStatus: se.HTTPStatusCode, Err: se}
	code := string(se.Code)
	msg := fmt.Sprintf("%s: %s", op, se.Msg)
	shouldRetry := se.LastResponse != nil && se.LastResponse.Header.Get("Stripe-Should-Retry") == "true"
	switch {
	case se.HTTPStatusCode == 429 && se.Code == stripe.ErrorCodeRateLimit:
		// Stripe sends no Retry-After: the activity's exponential backoff with jitter applies.
		fe.Class, fe.Code, fe.Message = failure.RateLimited, "stripe_rate_limited", msg
	case se.HTTPStatusCode == 429, se.HTTPStatusCode >= 500, se.HTTPStatusCode == 409, shouldRetry:
		// 429 lock_timeout, API errors and concurrent use of an idempotency key are transient.
		fe.Class, fe.Code, fe.Message = failure.Retryable, firstNonEmpty(code, "stripe_api_error"), msg
	case se.HTTPStatusCode == 401 || se.HTTPStatusCode == 403:
		fe.Class, fe.Code = failure.NeedsPerson, CodeUnauthorized
		fe.Message = op + ": Stripe refused the API key: set a valid secret key on the Stripe account (PUT /v1/stripe-accounts/{id})"
	case se.Type == stripe.ErrorTypeIdempotency:
		fe.Class, fe.Code = failure.NeedsPerson, CodeIdempotency
		fe.Message = msg + " (the same idempotency key was used with other parameters; report this as a taxflow bug)"
	case se.Code == stripe.ErrorCodeResourceMissing && se.Param == "customer":
		fe.Class, fe.Code = failure.NeedsPerson, CodeCustomerMissing
		fe.Message = op + ": " + se.Msg + ": fix stripe_customer_id in the customer's billing configuration"
	case se.Code == stripe.ErrorCodeInvoiceNotEditable:
		fe.Class, fe.Code, fe.Message = failure.NeedsPerson, CodeInvoiceState, msg
	default:
		fe.Class, fe.Code = failure.NeedsPerson, firstNonEmpty(code, CodeInvalidRequest)
		if se.Param != "" {
			msg += " (parameter " + se.Param + ")"
		}
		fe.Message = msg
	}
	return fe
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
