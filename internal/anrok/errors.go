package anrok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/failure"
)

// Anrok's 409 conflict types. A 409 is a business conflict that retrying the same request
// never fixes, except CodeExternalServiceError, Anrok's own transient failure.
const (
	CodeAccountingTimeZoneNotSetForSeller      = "accountingTimeZoneNotSetForSeller"
	CodeAccountingTimeZoneNotSupported         = "accountingTimeZoneNotSupported"
	CodeCurrencyCodeNotSupported               = "currencyCodeNotSupported"
	CodeCustomerAddressCouldNotResolve         = "customerAddressCouldNotResolve"
	CodeCustomerIDNotFound                     = "customerIdNotFound"
	CodeExternalServiceError                   = "externalServiceError"
	CodeJurisNotFound                          = "jurisNotFound"
	CodeProductExternalIDUnknown               = "productExternalIdUnknown"
	CodeProductTaxCategoryNotSupportedForJuris = "productTaxCategoryNotSupportedForJuris"
	CodeTaxDateTooFarInFuture                  = "taxDateTooFarInFuture"
	CodeTaxDateTooFarInPast                    = "taxDateTooFarInPast"
	CodeTransactionFrozenForFiling             = "transactionFrozenForFiling"
	CodeTransactionIDNotFound                  = "transactionIdNotFound"
	CodeTransactionExpectedVersionMismatch     = "transactionExpectedVersionMismatch"
	CodeTransactionIsAlreadyANegation          = "transactionIsAlreadyANegation"
	CodeDuplicateTransactionID                 = "duplicateTransactionId"
)

// Codes this client gives to failures that are not one of Anrok's 409 types.
const (
	// CodeInvalidRequest: Anrok answered 400, or local validation caught what it would.
	CodeInvalidRequest = "invalidRequest"
	// CodeUnauthorized: Anrok answered 401 or 403, or no API key is configured.
	CodeUnauthorized = "unauthorized"
	// CodeRateLimited: Anrok answered 429.
	CodeRateLimited = "rateLimited"
	// CodeServerError: Anrok answered 5xx.
	CodeServerError = "serverError"
	// CodeTimeout: Anrok did not answer in time; the call may or may not have taken effect.
	CodeTimeout = "timeout"
	// CodeCanceled: the caller's context was cancelled before Anrok answered.
	CodeCanceled = "canceled"
	// CodeNetworkError: the request could not be sent or the answer not read.
	CodeNetworkError = "networkError"
	// CodeUnexpectedResponse: Anrok answered something this client does not understand.
	CodeUnexpectedResponse = "unexpectedResponse"
)

// call describes the request being made, so a failure's message can name what to fix.
type call struct {
	endpoint        string
	transactionID   string
	newTxnID        string
	expectedVersion *int64
	currencyCode    string
	taxDate         string
}

// conflictBody is a 409 body: its type, plus the fields some types carry.
type conflictBody struct {
	Type              string `json:"type"`
	ProductExternalID string `json:"productExternalId"`
}

// classifyStatus turns a non-2xx answer into a *failure.Error. body is at most
// maxErrorBody bytes of the response.
func (c *Client) classifyStatus(cl call, resp *http.Response, body []byte) *failure.Error {
	status := resp.StatusCode
	e := &failure.Error{Provider: failure.ProviderAnrok, HTTPStatus: status}
	switch {
	case status == http.StatusTooManyRequests:
		e.Class, e.Code = failure.RateLimited, CodeRateLimited
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.Message = "Anrok's rate limit (10 requests per second per seller account) was exceeded"
		if e.RetryAfter > 0 {
			e.Message += fmt.Sprintf("; Anrok asks to retry after %s", e.RetryAfter)
		}
	case status >= 500:
		e.Class, e.Code = failure.Retryable, CodeServerError
		e.Message = fmt.Sprintf("Anrok failed with HTTP %d on %s%s", status, cl.endpoint, c.snippet(body))
	case status == http.StatusBadRequest:
		e.Class, e.Code = failure.NeedsPerson, CodeInvalidRequest
		e.Message = "Anrok rejected the request as invalid: " + c.badRequestMessage(body)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Class, e.Code = failure.NeedsPerson, CodeUnauthorized
		e.Message = fmt.Sprintf("Anrok refused the API key (HTTP %d): check the Anrok connection's API key", status)
	case status == http.StatusConflict:
		var cb conflictBody
		if err := json.Unmarshal(body, &cb); err != nil || cb.Type == "" {
			e.Class, e.Code = failure.Retryable, CodeUnexpectedResponse
			e.Message = "Anrok answered 409 without a conflict type" + c.snippet(body)
			return e
		}
		e.Code = cb.Type
		if cb.Type == CodeExternalServiceError {
			// Anrok's own dependency failed: the one 409 that a later retry can fix.
			e.Class = failure.Retryable
			e.Message = "Anrok reported a transient failure of one of its own services"
			return e
		}
		e.Class = failure.NeedsPerson
		e.Message = c.redact(conflictMessage(cl, cb))
	case status == http.StatusRequestTimeout || status == http.StatusTooEarly:
		e.Class, e.Code = failure.Retryable, CodeTimeout
		e.Message = fmt.Sprintf("Anrok answered HTTP %d on %s", status, cl.endpoint)
	default:
		// An answer outside Anrok's documented set (a proxy's 404, a redirect, ...) says
		// nothing about the request itself; treat it as transient and let the retry
		// policy bound it.
		e.Class, e.Code = failure.Retryable, CodeUnexpectedResponse
		e.Message = fmt.Sprintf("Anrok answered HTTP %d on %s, which it does not document%s", status, cl.endpoint, c.snippet(body))
	}
	return e
}

// conflictMessage says, for each of Anrok's 409 types, what a person must change before
// the request can succeed.
func conflictMessage(cl call, cb conflictBody) string {
	txn := cl.transactionID
	switch cb.Type {
	case CodeProductExternalIDUnknown:
		return fmt.Sprintf("map product %q in Anrok: no Anrok product has external id %q", cb.ProductExternalID, cb.ProductExternalID)
	case CodeCustomerAddressCouldNotResolve:
		return "fix the customer's address: Anrok could not place it in a jurisdiction"
	case CodeAccountingTimeZoneNotSetForSeller:
		return "set the accounting time zone in the Anrok seller settings, or configure one on the Anrok connection: Anrok needs a zone to date a transaction sent without accountingDate"
	case CodeAccountingTimeZoneNotSupported:
		return "use an accounting time zone Anrok supports (e.g. UTC, America/New_York, Europe/London) on the Anrok connection"
	case CodeCurrencyCodeNotSupported:
		return fmt.Sprintf("Anrok does not support currency %q: invoice this customer in a currency Anrok supports", strings.ToUpper(cl.currencyCode))
	case CodeCustomerIDNotFound:
		return "the customer id sent to Anrok does not exist there: send the customer's name so Anrok creates it, or fix the customer's Anrok customer id"
	case CodeJurisNotFound:
		return "Anrok does not know the jurisdiction named in the request: fix the jurisdiction id"
	case CodeProductTaxCategoryNotSupportedForJuris:
		if cb.ProductExternalID != "" {
			return fmt.Sprintf("give product %q a tax category in Anrok that the customer's jurisdiction supports", cb.ProductExternalID)
		}
		return "a product's tax category is not supported in the customer's jurisdiction: change the product's tax category in Anrok"
	case CodeTaxDateTooFarInFuture:
		return fmt.Sprintf("the tax date%s is more than 31 days in the future, which Anrok refuses: fix the invoice date or send it closer to the date", quoted(cl.taxDate))
	case CodeTaxDateTooFarInPast:
		return fmt.Sprintf("the tax date%s is before 1999-01-01, which Anrok refuses: fix the invoice date", quoted(cl.taxDate))
	case CodeTransactionFrozenForFiling:
		return fmt.Sprintf("Anrok transaction%s is frozen because it has been filed: it can no longer be changed or voided; reverse it with a negation or record a credit as a new transaction", quoted(txn))
	case CodeTransactionIDNotFound:
		return fmt.Sprintf("Anrok has no transaction%s: check that it was committed and under which id", quoted(txn))
	case CodeTransactionExpectedVersionMismatch:
		v := ""
		if cl.expectedVersion != nil {
			v = fmt.Sprintf(" (expected version %d)", *cl.expectedVersion)
		}
		return fmt.Sprintf("Anrok transaction%s changed since it was last read%s: reload it and decide again", quoted(txn), v)
	case CodeTransactionIsAlreadyANegation:
		return fmt.Sprintf("Anrok transaction%s is itself a negation and cannot be negated", quoted(txn))
	case CodeDuplicateTransactionID:
		return fmt.Sprintf("the transaction id%s is already used in Anrok: if an earlier attempt of this same negation succeeded, nothing is left to do; otherwise choose a new id", quoted(cl.newTxnID))
	default:
		return fmt.Sprintf("Anrok refused the request with conflict %q; retrying the same request will not help", cb.Type)
	}
}

func quoted(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf(" %q", s)
}

// badRequestMessage extracts Anrok's 400 message: a JSON string naming the bad field.
func (c *Client) badRequestMessage(body []byte) string {
	var msg string
	if err := json.Unmarshal(body, &msg); err != nil || msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	if msg == "" {
		msg = "(no message)"
	}
	return c.redact(truncate(msg, 500))
}

// snippet quotes the start of an unexpected body for the operator; bodies can be large
// HTML pages from a proxy, so only the beginning is kept.
func (c *Client) snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	return ": " + c.redact(truncate(s, 200))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so the message stays valid UTF-8.
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// parseRetryAfter reads a Retry-After header: Anrok sends seconds; an HTTP date is
// accepted too since RFC 9110 allows it. 0 means unknown.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// transportError classifies a failure to get an answer at all.
func (c *Client) transportError(ctx context.Context, cl call, err error) *failure.Error {
	if q := failure.Queued(failure.ProviderAnrok, cl.endpoint, err); q != nil {
		return q
	}
	e := &failure.Error{Provider: failure.ProviderAnrok, Class: failure.Retryable, Err: err}
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		e.Code = CodeCanceled
		e.Message = fmt.Sprintf("the call to %s was cancelled before Anrok answered; it may or may not have taken effect", cl.endpoint)
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Code = CodeTimeout
		e.Message = fmt.Sprintf("Anrok did not answer %s in time; the call may or may not have taken effect", cl.endpoint)
	default:
		e.Code = CodeNetworkError
		e.Message = fmt.Sprintf("could not reach Anrok for %s", cl.endpoint)
	}
	return e
}

// unexpected builds the Retryable failure for an answer this client cannot read.
func unexpected(cl call, status int, format string, args ...any) *failure.Error {
	return &failure.Error{
		Provider:   failure.ProviderAnrok,
		Class:      failure.Retryable,
		Code:       CodeUnexpectedResponse,
		HTTPStatus: status,
		Message:    fmt.Sprintf("Anrok's answer to %s was not understood: ", cl.endpoint) + fmt.Sprintf(format, args...),
	}
}

// invalid builds the NeedsPerson failure for a request that local validation refused.
func invalid(problems []string) *failure.Error {
	return failure.NeedsPersonError(failure.ProviderAnrok, CodeInvalidRequest,
		"the request would be rejected by Anrok: "+strings.Join(problems, "; "))
}
