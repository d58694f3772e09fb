package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/shopspring/decimal"
)

// idPattern is what taxflow accepts as an id (invoice, line, customer, product, account):
// ASCII letters, digits and . _ - ; ids end up in Stripe idempotency keys, Anrok transaction
// ids ("<prefix>:<invoice id>") and Temporal workflow ids, which must stay unambiguous (no
// ':', which separates the parts) and short.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

const idRule = "1 to 100 characters: ASCII letters, digits and . _ - (starting with a letter or digit)"

// problems collects the invalid fields of a request, in the order they were found.
type problems struct{ list []FieldProblem }

func (p *problems) add(field, code, message string) {
	p.list = append(p.list, FieldProblem{Field: field, Code: code, Message: message})
}

// err returns the problems as one contract error with the given status, or nil.
func (p *problems) err(status int) error {
	if len(p.list) == 0 {
		return nil
	}
	first := p.list[0]
	e := &Error{Status: status, Code: first.Code, Field: first.Field, Message: first.Message}
	if len(p.list) > 1 {
		e.Details = p.list
	}
	return e
}

// validate runs the struct tags (go-playground/validator) and reports each failure with
// its JSON path (lines[2].product_id) and what to do about it.
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	_ = v.RegisterValidation("taxflowid", func(fl validator.FieldLevel) bool {
		return idPattern.MatchString(fl.Field().String())
	})
	return v
}

func (p *problems) checkStruct(prefix string, s any) {
	err := validate.Struct(s)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return
	}
	for _, fe := range verrs {
		ns := fe.Namespace()
		// Drop the root struct's name: "invoiceRequest.lines[2].amount" → "lines[2].amount".
		if _, rest, ok := strings.Cut(ns, "."); ok {
			ns = rest
		}
		if prefix != "" {
			ns = prefix + "." + ns
		}
		p.add(ns, codeFor(fe), messageFor(fe))
	}
}

func codeFor(fe validator.FieldError) string {
	if fe.Tag() == "required" {
		return "missing_field"
	}
	return "invalid_field"
}

func messageFor(fe validator.FieldError) string {
	f := fe.Field()
	switch fe.Tag() {
	case "required":
		return f + " is required"
	case "taxflowid":
		return f + " must be " + idRule
	case "max":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("%s must have at most %s entries", f, fe.Param())
		}
		return fmt.Sprintf("%s must be at most %s characters", f, fe.Param())
	case "min":
		if fe.Kind() == reflect.Slice {
			return fmt.Sprintf("%s must have at least %s entries", f, fe.Param())
		}
		return fmt.Sprintf("%s must be at least %s characters", f, fe.Param())
	case "oneof":
		return fmt.Sprintf("%s must be one of: %s", f, strings.ReplaceAll(fe.Param(), " ", ", "))
	case "email":
		return f + " must be an email address"
	case "iso3166_1_alpha2":
		return f + ` must be an ISO 3166-1 alpha-2 country code in capitals, such as "US" or "DE"`
	case "url", "http_url":
		return f + " must be an http(s) URL"
	case "gte":
		return fmt.Sprintf("%s must be at least %s", f, fe.Param())
	case "lte":
		return fmt.Sprintf("%s must be at most %s", f, fe.Param())
	case "printascii":
		return f + " must be printable ASCII"
	}
	return fmt.Sprintf("%s fails the %q rule", f, fe.Tag())
}

// maxBody is the largest request body accepted.
const maxBody = 4 << 20

// decodeJSON reads a JSON object strictly: the right content type, a size limit, no unknown
// fields, nothing after the object. Its errors are 400s naming the field when it can.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "send the body as JSON with Content-Type: application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "", fmt.Sprintf("the body is over %d bytes: split the request", maxBody))
		}
		return badRequest("malformed_json", "", "the body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	// dec.More is false before a stray ']' or '}', so look at the rest of the body itself.
	if len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0 {
		return badRequest("malformed_json", "", "the body must hold one JSON object and nothing after it")
	}
	if field, ok := fieldWithNUL(reflect.ValueOf(dst), ""); ok {
		return badRequest("invalid_field", field, field+` contains the character U+0000 ("\u0000"), which taxflow cannot store: remove it`)
	}
	return nil
}

// fieldWithNUL finds a string of a decoded request that holds U+0000 and returns its JSON
// path. PostgreSQL's text and jsonb cannot store that character: refused here, it is a bad
// field rather than a failed insert (a 500). Raw JSON fields (amounts, quantities) are left
// to their own parsers, which accept only digits.
func fieldWithNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return fieldWithNUL(v.Elem(), path)
	case reflect.String:
		return path, strings.ContainsRune(v.String(), 0)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if p, ok := fieldWithNUL(v.Field(i), name); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return "", false
		}
		for i := range v.Len() {
			if p, ok := fieldWithNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if strings.ContainsRune(k.String(), 0) {
				return path, true
			}
			if p, ok := fieldWithNUL(v.MapIndex(k), path+"."+k.String()); ok {
				return p, true
			}
		}
	}
	return "", false
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed_json", "", fmt.Sprintf("the body is not valid JSON (at byte %d)", se.Offset))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return badRequest("malformed_json", "", "the body must be a JSON object")
		}
		return badRequest("invalid_field", field, fmt.Sprintf("%s must be a JSON %s, not %s", field, jsonKind(te.Type), te.Value))
	case errors.Is(err, io.EOF):
		return badRequest("malformed_json", "", "the body is empty: send a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest("unknown_field", name, fmt.Sprintf("unknown field %q: check the field's name against the API", name))
	}
	return badRequest("malformed_json", "", "the body is not valid JSON: "+err.Error())
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	}
	return t.String()
}

// parseAmount reads an amount: a JSON integer (minor units), never a string or a fraction.
func parseAmount(p *problems, field string, raw json.RawMessage, min, max int64) int64 {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		p.add(field, "missing_field", field+" is required: an integer in the currency's smallest unit (cents)")
		return 0
	}
	if strings.HasPrefix(s, `"`) {
		p.add(field, "invalid_amount", field+" must be a JSON integer in the currency's smallest unit (cents), not a string")
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// No arithmetic on s: a JSON number's exponent is unbounded, and decimal arithmetic
		// on "0e-999999999" takes seconds (checking that it is an integer divides by ten a
		// billion times).
		switch {
		case errors.Is(err, strconv.ErrRange):
			p.add(field, "invalid_amount", fmt.Sprintf("%s is out of range: it must be between %d and %d", field, min, max))
		case fractionPattern.MatchString(s):
			p.add(field, "invalid_amount", field+" must be an integer in the currency's smallest unit (cents): "+s+" has a fraction")
		default:
			p.add(field, "invalid_amount", field+" must be an integer in the currency's smallest unit (cents), written without a decimal point or exponent")
		}
		return 0
	}
	if v < min || v > max {
		p.add(field, "invalid_amount", fmt.Sprintf("%s must be between %d and %d", field, min, max))
		return 0
	}
	return v
}

// fractionPattern is a JSON number with a fractional part that is not all zeros.
var fractionPattern = regexp.MustCompile(`^-?[0-9]+\.[0-9]*[1-9][0-9]*$`)

// parseDecimal reads an optional decimal string ("1.5"), as the contract writes quantities
// and unit prices.
func parseDecimal(p *problems, field string, raw json.RawMessage) decimal.NullDecimal {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return decimal.NullDecimal{}
	}
	var str string
	if err := json.Unmarshal(raw, &str); err != nil {
		p.add(field, "invalid_decimal", field+` must be a decimal string such as "1.5"`)
		return decimal.NullDecimal{}
	}
	if !decimalPattern.MatchString(str) {
		p.add(field, "invalid_decimal", field+` must be a decimal string such as "1.5" (digits, an optional sign and point, at most 12 decimal places)`)
		return decimal.NullDecimal{}
	}
	d, err := decimal.NewFromString(str)
	if err != nil {
		p.add(field, "invalid_decimal", field+` must be a decimal string such as "1.5"`)
		return decimal.NullDecimal{}
	}
	return decimal.NullDecimal{Decimal: d, Valid: true}
}

var decimalPattern = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,12})?$`)

// parseTime reads an RFC 3339 timestamp.
func parseTime(p *problems, field, s string) time.Time {
	if s == "" {
		p.add(field, "missing_field", field+` is required: an RFC 3339 time such as "2026-11-01T00:00:00Z"`)
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		p.add(field, "invalid_time", field+` must be an RFC 3339 time such as "2026-11-01T00:00:00Z"`)
		return time.Time{}
	}
	if t.Year() < 2000 || t.Year() > 2100 {
		p.add(field, "invalid_time", field+" must be between the years 2000 and 2100")
	}
	// PostgreSQL keeps microseconds: what is hashed (an identical repeat) and what is
	// stored must be the same time.
	return t.UTC().Truncate(time.Microsecond)
}
