package stripesim

import (
	"fmt"
	"net/http"
	"strings"
)

// Stripe's error types (the "type" field of an error body). stripe-go turns each into its own
// Go error type, so the simulator must use exactly these strings.
const (
	errTypeInvalidRequest = "invalid_request_error"
	errTypeIdempotency    = "idempotency_error"
	errTypeAPI            = "api_error"
)

// apiError is an error answered in Stripe's shape:
// {"error":{"type","code","message","param","doc_url"}} with an HTTP status.
type apiError struct {
	Status int    `json:"-"`
	Type   string `json:"type"`
	Code   string `json:"code,omitempty"`
	// DeclineCode and Charge are set on card errors (a payment intent's last_payment_error).
	DeclineCode string `json:"decline_code,omitempty"`
	Charge      string `json:"charge,omitempty"`
	DocURL      string `json:"doc_url,omitempty"`
	Message     string `json:"message"`
	Param       string `json:"param,omitempty"`

	// beforeExecution marks errors raised while the request's parameters were being checked.
	// Stripe saves no idempotent result for them ("if incoming parameters failed validation
	// ... no idempotent result is saved because no API endpoint began execution"), so a retry
	// with the same key and corrected parameters is a new request, not an idempotency_error.
	beforeExecution bool
	// header holds extra response headers, such as Stripe-Should-Retry on lock conflicts.
	header map[string]string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// newError builds an error; a code also gets Stripe's doc_url, which always follows the
// pattern https://stripe.com/docs/error-codes/<code with hyphens>.
func newError(status int, typ, code, param, message string) *apiError {
	e := &apiError{Status: status, Type: typ, Code: code, Param: param, Message: message}
	if code != "" {
		e.DocURL = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	return e
}

// invalidRequest is a 400 invalid_request_error raised while executing a request (a state
// rule, a business rule): its result is stored under the request's idempotency key.
func invalidRequest(code, param, format string, args ...any) *apiError {
	return newError(http.StatusBadRequest, errTypeInvalidRequest, code, param, fmt.Sprintf(format, args...))
}

// invalidParam is a 400 raised by parameter validation, before the endpoint executes.
func invalidParam(code, param, format string, args ...any) *apiError {
	e := invalidRequest(code, param, format, args...)
	e.beforeExecution = true
	return e
}

// missingParam is Stripe's answer to an absent required parameter.
func missingParam(param string) *apiError {
	return invalidParam("parameter_missing", param, "Missing required param: %s.", param)
}

// emptyParam is Stripe's answer to "" for a parameter that cannot be unset: Stripe reads an
// empty value as an attempt to unset the parameter.
func emptyParam(param string) *apiError {
	return invalidParam("parameter_invalid_empty", param,
		"You passed an empty string for '%s'. We assume empty values are an attempt to unset a parameter; "+
			"however '%s' cannot be unset. You should remove '%s' from your request or supply a non-empty value.",
		param, param, param)
}

// exclusiveParams is Stripe's answer to two parameters that exclude each other.
func exclusiveParams(param string, names ...string) *apiError {
	return invalidParam("parameters_exclusive", param,
		"You may only specify one of these parameters: %s.", strings.Join(names, ", "))
}

// noSuchInBody is a 400 resource_missing for an id passed as a parameter (customer=cus_x):
// Stripe answers 400 there, and 404 only for ids in the URL path.
func noSuchInBody(kind, id, param string) *apiError {
	return invalidRequest("resource_missing", param, "No such %s: '%s'", kind, id)
}

// noSuchInPath is the 404 resource_missing for an id in the URL path.
func noSuchInPath(kind, id, param string) *apiError {
	return newError(http.StatusNotFound, errTypeInvalidRequest, "resource_missing", param,
		fmt.Sprintf("No such %s: '%s'", kind, id))
}

// notModelled refuses a parameter that Stripe accepts but the simulator cannot honour. Stripe
// would act on it; ignoring it silently would let a test pass that production would fail.
func notModelled(param string) *apiError {
	return invalidParam("", param,
		"stripesim does not model the parameter %s: Stripe accepts it, but the simulator cannot honour it.", param)
}

// unrecognizedURL is Stripe's 404 for a path it does not route.
func unrecognizedURL(method, path string) *apiError {
	return newError(http.StatusNotFound, errTypeInvalidRequest, "", "",
		fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", method, path))
}

// internalError is the api_error Stripe answers for its own faults.
func internalError() *apiError {
	return newError(http.StatusInternalServerError, errTypeAPI, "", "",
		"Sorry, something went wrong. We've already been notified of the problem, but if you need any help, "+
			"you can reach us at https://support.stripe.com/contact.")
}

// errorBody is the envelope every Stripe error is wrapped in.
type errorBody struct {
	Error *apiError `json:"error"`
}
