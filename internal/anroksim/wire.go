package anroksim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// apiError is an answer other than 200, in the shape Anrok gives it: a JSON string for a
// 400, a {"type": ...} object for a 409.
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %v", e.status, e.body) }

// badRequest is Anrok's 400: a JSON string naming the field.
func badRequest(field, problem string) *apiError {
	return &apiError{status: http.StatusBadRequest, body: fmt.Sprintf("Request body: %q: %s", field, problem)}
}

func badBody(problem string) *apiError {
	return &apiError{status: http.StatusBadRequest, body: "Request body: " + problem}
}

// conflictBody is Anrok's 409 body.
type conflictBody struct {
	Type              string `json:"type"`
	ProductExternalID string `json:"productExternalId,omitempty"`
}

func conflict(typ string) *apiError {
	return &apiError{status: http.StatusConflict, body: conflictBody{Type: typ}}
}

// Anrok's 409 types the simulator produces.
const (
	codeAccountingTimeZoneNotSetForSeller      = "accountingTimeZoneNotSetForSeller"
	codeAccountingTimeZoneNotSupported         = "accountingTimeZoneNotSupported"
	codeCurrencyCodeNotSupported               = "currencyCodeNotSupported"
	codeCustomerAddressCouldNotResolve         = "customerAddressCouldNotResolve"
	codeCustomerIDNotFound                     = "customerIdNotFound"
	codeExternalServiceError                   = "externalServiceError"
	codeProductExternalIDUnknown               = "productExternalIdUnknown"
	codeProductTaxCategoryNotSupportedForJuris = "productTaxCategoryNotSupportedForJuris"
	codeTaxDateTooFarInFuture                  = "taxDateTooFarInFuture"
	codeTaxDateTooFarInPast                    = "taxDateTooFarInPast"
	codeTransactionFrozenForFiling             = "transactionFrozenForFiling"
	codeTransactionIDNotFound                  = "transactionIdNotFound"
	codeTransactionExpectedVersionMismatch     = "transactionExpectedVersionMismatch"
	codeTransactionIsAlreadyANegation          = "transactionIsAlreadyANegation"
	codeDuplicateTransactionID                 = "duplicateTransactionId"
	// codeProductExternalIDAlreadyExists is the simulator's own answer to creating a
	// product twice; the reference Anrok documents does not name one.
	codeProductExternalIDAlreadyExists = "productExternalIdAlreadyExists"
)

// maxLineAmount bounds a line's amount, in minor units, as Anrok documents.
const maxLineAmount = 100_000_000_000

// decodeBody decodes a JSON object body, answering malformed bodies the way Anrok does.
// An empty body counts as {} (Anrok's convention for "nothing to send").
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return badBody("must be a JSON object.")
			}
			return badRequest(te.Field, fmt.Sprintf("Expected %s.", jsonKind(te.Type.Kind().String())))
		}
		return badBody("invalid JSON.")
	}
	if _, err := d.Token(); err != io.EOF {
		return badBody("invalid JSON: trailing data after the object.")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"):
		return "an integer"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "a boolean"
	case goKind == "slice":
		return "an array"
	case goKind == "struct", goKind == "map", goKind == "ptr":
		return "an object"
	default:
		return "another type"
	}
}

// txnBody is the request body of createEphemeral and createOrUpdate. Pointers tell a
// missing or null field from an empty one: Anrok accepts the first and rejects "".
type txnBody struct {
	ID                 *string      `json:"id"`
	LineItems          *[]lineBody  `json:"lineItems"`
	CurrencyCode       *string      `json:"currencyCode"`
	CustomerAddress    *addressBody `json:"customerAddress"`
	CustomerID         *string      `json:"customerId"`
	CustomerName       *string      `json:"customerName"`
	CustomerTaxIDs     []taxIDBody  `json:"customerTaxIds"`
	AccountingDate     *string      `json:"accountingDate"`
	AccountingTime     *string      `json:"accountingTime"`
	AccountingTimeZone *string      `json:"accountingTimeZone"`
	TaxDate            *string      `json:"taxDate"`
}

type lineBody struct {
	ID                    *string `json:"id"`
	ProductExternalID     *string `json:"productExternalId"`
	Amount                *int64  `json:"amount"`
	IsTaxIncludedInAmount *bool   `json:"isTaxIncludedInAmount"`
	Quantity              *string `json:"quantity"`
}

type addressBody struct {
	Country    *string `json:"country"`
	Line1      *string `json:"line1"`
	City       *string `json:"city"`
	Region     *string `json:"region"`
	PostalCode *string `json:"postalCode"`
}

type taxIDBody struct {
	Type  *string `json:"type"`
	Value *string `json:"value"`
}

// txnInput is a validated transaction body.
type txnInput struct {
	id                 string
	lines              []lineInput
	currency           string
	address            addressInput
	customerID         string
	customerName       string
	taxIDs             []taxIDInput
	accountingDate     string
	accountingTime     string
	accountingTimeZone string
	taxDate            string
}

type lineInput struct {
	id                *string
	productExternalID string
	amount            int64
	taxIncluded       bool
	quantity          string
}

type addressInput struct {
	country, line1, city, region, postalCode string
}

type taxIDInput struct {
	typ, value string
}

// optional reads a nullable string that, when present, must not be blank.
func optional(field string, v *string) (string, *apiError) {
	if v == nil {
		return "", nil
	}
	if strings.TrimSpace(*v) == "" {
		return "", badRequest(field, "must not be empty.")
	}
	return *v, nil
}

func required(field string, v *string) (string, *apiError) {
	if v == nil {
		return "", badRequest(field, "Required.")
	}
	return optional(field, v)
}

// parseTransaction validates a transaction body into a txnInput: every 400 is decided
// here, before the simulator looks at its state.
func parseTransaction(body []byte, needID bool) (txnInput, *apiError) {
	var b txnBody
	if err := decodeBody(body, &b); err != nil {
		return txnInput{}, err
	}
	var in txnInput
	var err *apiError
	if needID {
		if in.id, err = required("id", b.ID); err != nil {
			return in, err
		}
	}
	if b.LineItems == nil {
		return in, badRequest("lineItems", "Required.")
	}
	for i, lb := range *b.LineItems {
		f := func(name string) string { return fmt.Sprintf("lineItems[%d].%s", i, name) }
		li := lineInput{id: lb.ID}
		if lb.ID != nil && *lb.ID == "" {
			return in, badRequest(f("id"), "must not be empty.")
		}
		if li.productExternalID, err = required(f("productExternalId"), lb.ProductExternalID); err != nil {
			return in, err
		}
		if lb.Amount == nil {
			return in, badRequest(f("amount"), "Required.")
		}
		if *lb.Amount < -maxLineAmount || *lb.Amount > maxLineAmount {
			return in, badRequest(f("amount"), fmt.Sprintf("must be between %d and %d.", -maxLineAmount, maxLineAmount))
		}
		li.amount = *lb.Amount
		li.taxIncluded = lb.IsTaxIncludedInAmount != nil && *lb.IsTaxIncludedInAmount
		if li.quantity, err = optional(f("quantity"), lb.Quantity); err != nil {
			return in, err
		}
		if li.quantity != "" {
			if _, perr := decimal.NewFromString(li.quantity); perr != nil {
				return in, badRequest(f("quantity"), "must be a decimal number string.")
			}
		}
		in.lines = append(in.lines, li)
	}

	if in.currency, err = required("currencyCode", b.CurrencyCode); err != nil {
		return in, err
	}
	if !isLetters(in.currency, 3) {
		return in, badRequest("currencyCode", "must be a 3-letter currency code.")
	}
	in.currency = strings.ToUpper(in.currency)

	if b.CustomerAddress == nil {
		return in, badRequest("customerAddress", "Required.")
	}
	a := b.CustomerAddress
	for _, f := range []struct {
		name string
		v    *string
		dst  *string
	}{
		{"customerAddress.country", a.Country, &in.address.country},
		{"customerAddress.line1", a.Line1, &in.address.line1},
		{"customerAddress.city", a.City, &in.address.city},
		{"customerAddress.region", a.Region, &in.address.region},
		{"customerAddress.postalCode", a.PostalCode, &in.address.postalCode},
	} {
		if *f.dst, err = optional(f.name, f.v); err != nil {
			return in, err
		}
	}

	if in.customerID, err = optional("customerId", b.CustomerID); err != nil {
		return in, err
	}
	if in.customerName, err = optional("customerName", b.CustomerName); err != nil {
		return in, err
	}
	for i, t := range b.CustomerTaxIDs {
		typ, err := required(fmt.Sprintf("customerTaxIds[%d].type", i), t.Type)
		if err != nil {
			return in, err
		}
		if typ != taxIDEUVRN && typ != taxIDGenericVAT {
			return in, badRequest(fmt.Sprintf("customerTaxIds[%d].type", i), fmt.Sprintf("must be one of %q, %q.", taxIDEUVRN, taxIDGenericVAT))
		}
		value, err := required(fmt.Sprintf("customerTaxIds[%d].value", i), t.Value)
		if err != nil {
			return in, err
		}
		in.taxIDs = append(in.taxIDs, taxIDInput{typ: typ, value: value})
	}

	if in.accountingDate, err = optional("accountingDate", b.AccountingDate); err != nil {
		return in, err
	}
	if in.accountingTime, err = optional("accountingTime", b.AccountingTime); err != nil {
		return in, err
	}
	if in.accountingTimeZone, err = optional("accountingTimeZone", b.AccountingTimeZone); err != nil {
		return in, err
	}
	if in.taxDate, err = optional("taxDate", b.TaxDate); err != nil {
		return in, err
	}
	switch {
	case in.accountingDate != "" && in.accountingTimeZone != "":
		return in, badRequest("accountingTimeZone", `cannot be sent together with "accountingDate".`)
	case in.accountingTimeZone != "" && in.accountingTime == "":
		return in, badRequest("accountingTime", `Required when "accountingTimeZone" is sent.`)
	case in.accountingDate != "" && !isDate(in.accountingDate):
		return in, badRequest("accountingDate", "must be a date (YYYY-MM-DD).")
	case in.taxDate != "" && !isDate(in.taxDate):
		return in, badRequest("taxDate", "must be a date (YYYY-MM-DD).")
	}
	if in.accountingTime != "" {
		if _, perr := time.Parse(time.RFC3339, in.accountingTime); perr != nil {
			return in, badRequest("accountingTime", "must be an RFC 3339 date-time.")
		}
	}
	return in, nil
}

// Customer tax id types Anrok accepts.
const (
	taxIDEUVRN      = "euVrn"
	taxIDGenericVAT = "genericVatNumber"
)

func isDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

func isLetters(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// dec writes a decimal as a JSON string, the way Anrok sends fractional figures. It does
// not rely on decimal.MarshalJSON, whose quoting is a package-global switch.
type dec struct{ decimal.Decimal }

func (d dec) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// The tax response, field for field as Anrok documents it.
type taxResponseWire struct {
	Version            *int64             `json:"version,omitempty"`
	TaxAmountToCollect int64              `json:"taxAmountToCollect"`
	PreTaxAmount       dec                `json:"preTaxAmount"`
	LineItems          []lineTaxWire      `json:"lineItems"`
	JurisSummaries     []jurisSummaryWire `json:"jurisSummaries"`
}

type lineTaxWire struct {
	ID                 *string     `json:"id"`
	TaxAmountToCollect int64       `json:"taxAmountToCollect"`
	PreTaxAmount       dec         `json:"preTaxAmount"`
	Jurises            []jurisWire `json:"jurises"`
}

// jurisWire has either taxes or a notTaxedReason; the other is an explicit null.
type jurisWire struct {
	Name           string        `json:"name"`
	Taxes          []taxWire     `json:"taxes"`
	NotTaxedReason *notTaxedWire `json:"notTaxedReason"`
}

type taxWire struct {
	TaxName       string `json:"taxName"`
	TaxableAmount dec    `json:"taxableAmount"`
	TaxAmount     dec    `json:"taxAmount"`
	TaxRate       dec    `json:"taxRate"`
}

type notTaxedWire struct {
	Type   string      `json:"type"`
	Reason *reasonWire `json:"reason,omitempty"`
}

type reasonWire struct {
	Type string `json:"type"`
}

func (n notTaxedWire) equal(o notTaxedWire) bool {
	return n.Type == o.Type && (n.Reason == nil) == (o.Reason == nil) && (n.Reason == nil || n.Reason.Type == o.Reason.Type)
}

func (n *notTaxed) wire() notTaxedWire {
	w := notTaxedWire{Type: n.typ}
	if n.reason != "" {
		w.Reason = &reasonWire{Type: n.reason}
	}
	return w
}

// jurisSummaryWire carries a jurisdiction id only in the transactions list: the tax
// response's summaries are name and reasons alone, as documented.
type jurisSummaryWire struct {
	JurisID         string         `json:"jurisId,omitempty"`
	Name            string         `json:"name"`
	NotTaxedReasons []notTaxedWire `json:"notTaxedReasons"`
}

// taxResponse renders a computed transaction; version is nil for createEphemeral.
func (r calcResult) taxResponse(version *int64) taxResponseWire {
	out := taxResponseWire{
		Version:            version,
		TaxAmountToCollect: r.collected,
		PreTaxAmount:       dec{r.preTax},
		LineItems:          make([]lineTaxWire, 0, len(r.lines)),
		JurisSummaries:     r.summaries(),
	}
	for i := range out.JurisSummaries {
		out.JurisSummaries[i].JurisID = ""
	}
	for _, l := range r.lines {
		lw := lineTaxWire{ID: l.line.id, TaxAmountToCollect: l.collected, PreTaxAmount: dec{l.preTax}, Jurises: make([]jurisWire, 0, len(l.jurises))}
		for _, j := range l.jurises {
			jw := jurisWire{Name: j.juris.name}
			if j.notTaxed != nil {
				w := j.notTaxed.wire()
				jw.NotTaxedReason = &w
			}
			for _, t := range j.taxes {
				jw.Taxes = append(jw.Taxes, taxWire{TaxName: t.name, TaxableAmount: dec{t.taxable}, TaxAmount: dec{t.amount}, TaxRate: dec{t.rate}})
			}
			lw.Jurises = append(lw.Jurises, jw)
		}
		out.LineItems = append(out.LineItems, lw)
	}
	return out
}
