package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// Error is the contract's error: {"error": {"code", "message", "field"}}. Details lists
// every problem found when there were several (the first is repeated at the top).
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Field   string         `json:"field,omitempty"`
	Details []FieldProblem `json:"details,omitempty"`
}

// FieldProblem is one invalid field.
type FieldProblem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, field, message string) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: message}
}

func badRequest(code, field, message string) *Error {
	return errorf(http.StatusBadRequest, code, field, message)
}

func unprocessable(code, field, message string) *Error {
	return errorf(http.StatusUnprocessableEntity, code, field, message)
}

func notFound(what, id string) *Error {
	return errorf(http.StatusNotFound, "not_found", "", what+" "+quote(id)+" does not exist")
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError writes err in the contract's shape. Anything that is not an *Error is an
// internal failure: logged in full, answered 500 without its details.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		log.Error("request failed", "error", err)
		e = errorf(http.StatusInternalServerError, "internal_error", "", "taxflow could not complete the request; it is logged, retry later")
	}
	if e.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}
