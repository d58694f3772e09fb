package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/api/serviceerror"

	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/money"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
	"github.com/taxflow/taxflow/workflows"
)

// MaxLines is the most lines one invoice may have. taxflow keeps them all; over Stripe's
// 250, the Stripe invoice shows one line carrying the total.
const MaxLines = 5000

// maxLineAmount bounds a line amount to what Anrok accepts (±100,000,000,000).
const maxLineAmount = 100_000_000_000

type servicePeriodRequest struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

type invoiceLineRequest struct {
	ID          string          `json:"id" validate:"required,taxflowid"`
	ProductID   string          `json:"product_id" validate:"required,taxflowid"`
	Description *string         `json:"description" validate:"omitempty,max=500"`
	Quantity    json.RawMessage `json:"quantity"`
	UnitPrice   json.RawMessage `json:"unit_price"`
	Amount      json.RawMessage `json:"amount"`
	// TaxInclusive: the amount already includes tax (Anrok backs the tax out of it).
	TaxInclusive bool `json:"tax_inclusive"`
}

type invoiceRequest struct {
	ID                     string                `json:"id" validate:"required,taxflowid"`
	CustomerID             string                `json:"customer_id" validate:"required,taxflowid"`
	Currency               string                `json:"currency" validate:"required"`
	IssuedAt               string                `json:"issued_at"`
	ServicePeriod          *servicePeriodRequest `json:"service_period"`
	BillingConfigurationID *string               `json:"billing_configuration_id" validate:"omitempty,taxflowid"`
	Lines                  []invoiceLineRequest  `json:"lines" validate:"required,min=1,dive"`
	Metadata               map[string]string     `json:"metadata"`
}

// invoice is a validated invoice request, normalized: its JSON is the canonical form whose
// hash tells an identical repeat from a conflicting one.
type invoice struct {
	ID                     string            `json:"id"`
	CustomerID             string            `json:"customer_id"`
	Currency               string            `json:"currency"`
	IssuedAt               time.Time         `json:"issued_at"`
	PeriodStart            time.Time         `json:"period_start"`
	PeriodEnd              time.Time         `json:"period_end"`
	BillingConfigurationID string            `json:"billing_configuration_id,omitempty"`
	Lines                  []invoiceLine     `json:"lines"`
	Metadata               map[string]string `json:"metadata"`
	Subtotal               int64             `json:"-"`
}

type invoiceLine struct {
	ID          string              `json:"id"`
	ProductID   string              `json:"product_id"`
	Description string              `json:"description,omitempty"`
	Quantity    decimal.NullDecimal `json:"quantity"`
	UnitPrice   decimal.NullDecimal `json:"unit_price"`
	Amount      int64               `json:"amount"`
	// omitempty keeps the canonical form (and so the hash) of exclusive lines as it was.
	TaxInclusive bool `json:"tax_inclusive,omitempty"`
}

func (inv invoice) hash() string {
	b, _ := json.Marshal(inv)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parse validates the request's shape and values (no database): 400 for what is malformed,
// 422 for what is well-formed but unacceptable.
func (req *invoiceRequest) parse() (invoice, error) {
	var p problems
	p.checkStruct("", req)
	if err := p.err(http.StatusBadRequest); err != nil {
		return invoice{}, err
	}
	inv := invoice{ID: req.ID, CustomerID: req.CustomerID, Currency: strings.ToLower(req.Currency), Metadata: req.Metadata}
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	inv.IssuedAt = parseTime(&p, "issued_at", req.IssuedAt)
	if req.ServicePeriod == nil {
		p.add("service_period", "missing_field", `service_period is required: {"start": RFC 3339 time, "end": RFC 3339 time}`)
	} else {
		inv.PeriodStart = parseTime(&p, "service_period.start", req.ServicePeriod.Start)
		inv.PeriodEnd = parseTime(&p, "service_period.end", req.ServicePeriod.End)
	}
	if req.BillingConfigurationID != nil {
		inv.BillingConfigurationID = *req.BillingConfigurationID
	}
	_, currencyOK := money.LookupCurrency(req.Currency)
	for i, l := range req.Lines {
		f := func(name string) string { return fmt.Sprintf("lines[%d].%s", i, name) }
		line := invoiceLine{ID: l.ID, ProductID: l.ProductID, Description: strings.TrimSpace(deref(l.Description)), TaxInclusive: l.TaxInclusive}
		line.Amount = parseAmount(&p, f("amount"), l.Amount, -maxLineAmount, maxLineAmount)
		line.Quantity = parseDecimal(&p, f("quantity"), l.Quantity)
		line.UnitPrice = parseDecimal(&p, f("unit_price"), l.UnitPrice)
		if line.Quantity.Valid && line.Quantity.Decimal.Sign() < 0 {
			p.add(f("quantity"), "invalid_decimal", f("quantity")+" must not be negative: bill a credit as a negative amount")
		}
		inv.Lines = append(inv.Lines, line)
		inv.Subtotal += line.Amount
	}
	if err := p.err(http.StatusBadRequest); err != nil {
		return invoice{}, err
	}
	// Well-formed; now what taxflow, Stripe and Anrok accept.
	if !currencyOK {
		p.add("currency", "unknown_currency", fmt.Sprintf("currency %q is not one taxflow invoices in: use an ISO 4217 code such as usd or eur (%s)", req.Currency, strings.Join(money.CurrencyCodes(), ", ")))
	}
	if !inv.PeriodStart.IsZero() && !inv.PeriodEnd.IsZero() && inv.PeriodEnd.Before(inv.PeriodStart) {
		p.add("service_period.end", "invalid_period", "service_period.end must not be before service_period.start")
	}
	if len(inv.Lines) > MaxLines {
		p.add("lines", "too_many_lines", fmt.Sprintf("an invoice has at most %d lines: split it", MaxLines))
	}
	seen := map[string]bool{}
	for i, l := range inv.Lines {
		if seen[l.ID] {
			p.add(fmt.Sprintf("lines[%d].id", i), "duplicate_line_id", fmt.Sprintf("line id %q appears twice: line ids must be unique within the invoice", l.ID))
		}
		seen[l.ID] = true
		if l.Amount > money.StripeMaxAmount || l.Amount < -money.StripeMaxAmount {
			p.add(fmt.Sprintf("lines[%d].amount", i), invoicing.CodeAmountExceedsStripeMax,
				fmt.Sprintf("lines[%d].amount %d is beyond Stripe's maximum of %d minor units: split the line", i, l.Amount, money.StripeMaxAmount))
		}
	}
	if inv.Subtotal > money.StripeMaxAmount {
		p.add("lines", invoicing.CodeAmountExceedsStripeMax, fmt.Sprintf("the invoice's subtotal %d is beyond Stripe's maximum of %d minor units: split the invoice", inv.Subtotal, money.StripeMaxAmount))
	}
	if len(inv.Metadata) > 49 {
		p.add("metadata", "invalid_field", "metadata has at most 49 keys (Stripe allows 50 and taxflow uses one)")
	}
	for k, v := range inv.Metadata {
		switch {
		case k == "" || len(k) > 40:
			p.add("metadata", "invalid_field", fmt.Sprintf("metadata key %q must be 1 to 40 characters (Stripe's limit)", k))
		case strings.ContainsAny(k, "[]"):
			p.add("metadata."+k, "invalid_field", "metadata keys cannot contain square brackets (Stripe refuses them)")
		case strings.HasPrefix(k, "taxflow_"):
			p.add("metadata."+k, "invalid_field", "metadata keys starting with taxflow_ are reserved")
		case len(v) > 500:
			p.add("metadata."+k, "invalid_field", "metadata values are at most 500 characters (Stripe's limit)")
		}
	}
	return inv, p.err(http.StatusUnprocessableEntity)
}

type invoiceAccepted struct {
	ID         string `json:"id"`
	Status     string `json:"status"`
	WorkflowID string `json:"workflow_id"`
}

func (s *Server) postInvoice(w http.ResponseWriter, r *http.Request) error {
	var req invoiceRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	inv, err := req.parse()
	if err != nil {
		return err
	}
	ctx := r.Context()
	hash := inv.hash()
	if existing, err := s.Store.GetInvoice(ctx, inv.ID); err == nil {
		return s.repeat(w, r, existing, hash)
	} else if !store.IsNotFound(err) {
		return err
	}
	ref, err := s.resolveReferences(ctx, inv)
	if err != nil {
		return err
	}
	workflowID := workflows.InvoiceWorkflowID(inv.ID)
	inserted := false
	err = s.Store.InTx(ctx, func(q *sqldb.Queries) error {
		meta, err := json.Marshal(inv.Metadata)
		if err != nil {
			return err
		}
		_, err = q.InsertInvoice(ctx, sqldb.InsertInvoiceParams{
			ID: inv.ID, CustomerID: inv.CustomerID, Currency: inv.Currency, IssuedAt: inv.IssuedAt,
			PeriodStart: inv.PeriodStart, PeriodEnd: inv.PeriodEnd, BillingConfigurationID: ref.billingConfig.ID,
			StripeAccountID: ref.billingConfig.StripeAccountID, Metadata: meta, RequestHash: hash,
			Subtotal: inv.Subtotal, Total: inv.Subtotal, WorkflowID: workflowID,
		})
		if store.IsNotFound(err) {
			return nil // a concurrent request inserted it first
		}
		if err != nil {
			return err
		}
		rows := make([]sqldb.InsertInvoiceLinesParams, 0, len(inv.Lines))
		for i, l := range inv.Lines {
			var desc *string
			if l.Description != "" {
				d := l.Description
				desc = &d
			}
			rows = append(rows, sqldb.InsertInvoiceLinesParams{
				InvoiceID: inv.ID, ID: l.ID, Position: int32(i), ProductID: l.ProductID, Description: desc,
				Quantity: l.Quantity, UnitPrice: l.UnitPrice, Amount: l.Amount, TaxInclusive: l.TaxInclusive,
			})
		}
		if _, err := q.InsertInvoiceLines(ctx, rows); err != nil {
			return err
		}
		inserted = true
		return nil
	})
	if err != nil {
		return err
	}
	if !inserted {
		existing, err := s.Store.GetInvoice(ctx, inv.ID)
		if err != nil {
			return err
		}
		return s.repeat(w, r, existing, hash)
	}
	// The workflow starts after the commit; if Temporal is unreachable now, the invoice is
	// stored and the starter's sweeper starts it later (nothing accepted is lost).
	s.startWorkflow(ctx, inv.ID)
	writeJSON(w, http.StatusAccepted, invoiceAccepted{ID: inv.ID, Status: string(invoicing.StatusReceived), WorkflowID: workflowID})
	return nil
}

// repeat answers a POST of an invoice id that exists: the same body is harmless (200), a
// different one is a conflict.
func (s *Server) repeat(w http.ResponseWriter, r *http.Request, existing sqldb.Invoice, hash string) error {
	if existing.RequestHash != hash {
		return errorf(http.StatusConflict, "invoice_conflict", "id",
			fmt.Sprintf("invoice %q exists with a different body: invoices are immutable; post a new id (or void this one and post a replacement)", existing.ID))
	}
	if existing.WorkflowStartedAt == nil {
		s.startWorkflow(r.Context(), existing.ID)
	}
	writeJSON(w, http.StatusOK, invoiceAccepted{ID: existing.ID, Status: existing.Status, WorkflowID: existing.WorkflowID})
	return nil
}

func (s *Server) startWorkflow(ctx context.Context, invoiceID string) bool {
	if err := s.Workflows.StartInvoice(ctx, invoiceID); err != nil {
		s.Log.Warn("could not start the invoice workflow; the sweeper will retry", "invoice_id", invoiceID, "error", err)
		return false
	}
	if err := s.Store.MarkWorkflowStarted(ctx, invoiceID); err != nil {
		s.Log.Warn("workflow started but not recorded; the sweeper will record it", "invoice_id", invoiceID, "error", err)
	}
	return true
}

type invoiceReferences struct {
	billingConfig sqldb.BillingConfiguration
}

// resolveReferences checks that the customer, its billing configuration and every product
// exist (422 naming the field otherwise).
func (s *Server) resolveReferences(ctx context.Context, inv invoice) (invoiceReferences, error) {
	var p problems
	var ref invoiceReferences
	if _, err := s.Store.GetCustomer(ctx, inv.CustomerID); store.IsNotFound(err) {
		return ref, unprocessable("customer_not_found", "customer_id", fmt.Sprintf("customer %q does not exist: create it with PUT /v1/customers/%s first", inv.CustomerID, inv.CustomerID))
	} else if err != nil {
		return ref, err
	}
	configs, err := s.Store.ListBillingConfigurations(ctx, inv.CustomerID)
	if err != nil {
		return ref, err
	}
	switch {
	case inv.BillingConfigurationID != "":
		found := false
		for _, c := range configs {
			if c.ID == inv.BillingConfigurationID {
				ref.billingConfig, found = c, true
			}
		}
		if !found {
			p.add("billing_configuration_id", "billing_configuration_not_found", fmt.Sprintf("customer %q has no billing configuration %q", inv.CustomerID, inv.BillingConfigurationID))
		}
	case len(configs) == 1:
		ref.billingConfig = configs[0]
	case len(configs) == 0:
		p.add("customer_id", invoicing.CodeBillingConfigMissing, fmt.Sprintf("customer %q has no billing configuration: add one (Stripe account and Stripe customer) with PUT /v1/customers/%s", inv.CustomerID, inv.CustomerID))
	default:
		p.add("billing_configuration_id", "billing_configuration_required", fmt.Sprintf("customer %q has %d billing configurations: name one in billing_configuration_id", inv.CustomerID, len(configs)))
	}
	ids := make([]string, 0, len(inv.Lines))
	for _, l := range inv.Lines {
		ids = append(ids, l.ProductID)
	}
	products, err := s.Store.GetProducts(ctx, ids)
	if err != nil {
		return ref, err
	}
	known := map[string]bool{}
	for _, pr := range products {
		known[pr.ID] = true
	}
	for i, l := range inv.Lines {
		if !known[l.ProductID] {
			p.add(fmt.Sprintf("lines[%d].product_id", i), "product_not_found", fmt.Sprintf("product %q does not exist: create it with PUT /v1/products/%s first", l.ProductID, l.ProductID))
		}
	}
	return ref, p.err(http.StatusUnprocessableEntity)
}

// ---- reading an invoice ----

type breakdownView struct {
	Jurisdiction   string `json:"jurisdiction"`
	Level          string `json:"level,omitempty"`
	TaxType        string `json:"tax_type,omitempty"`
	TaxName        string `json:"tax_name,omitempty"`
	Rate           string `json:"rate"`
	TaxableAmount  string `json:"taxable_amount"`
	TaxAmount      string `json:"tax_amount"`
	BilledAmount   int64  `json:"billed_amount"`
	NotTaxedReason string `json:"not_taxed_reason,omitempty"`
	ExemptReason   string `json:"exempt_reason,omitempty"`
}

type lineView struct {
	ID           string  `json:"id"`
	ProductID    string  `json:"product_id"`
	Description  *string `json:"description"`
	Quantity     *string `json:"quantity"`
	UnitPrice    *string `json:"unit_price"`
	Amount       int64   `json:"amount"`
	TaxInclusive bool    `json:"tax_inclusive"`
	Tax          int64   `json:"tax"`
	// PreTaxAmount is the engine's pre-tax amount (fractional for tax-inclusive lines).
	PreTaxAmount *string         `json:"pre_tax_amount"`
	TaxBreakdown []breakdownView `json:"tax_breakdown"`
}

type externalInvoiceView struct {
	BillingProviderType string     `json:"billing_provider_type"`
	InvoiceID           string     `json:"invoice_id"`
	Number              *string    `json:"number"`
	IssuedAtTimestamp   *time.Time `json:"issued_at_timestamp"`
	ExternalStatus      *string    `json:"external_status"`
}

type anrokTransactionView struct {
	ID      string `json:"id"`
	Version *int64 `json:"version"`
	Status  string `json:"status"`
}

type errorView struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	Step       string     `json:"step"`
	Provider   string     `json:"provider"`
	At         time.Time  `json:"at"`
	ResolvedAt *time.Time `json:"resolved_at"`
}

type invoiceView struct {
	ID                     string                `json:"id"`
	CustomerID             string                `json:"customer_id"`
	Currency               string                `json:"currency"`
	Status                 string                `json:"status"`
	TaxStatus              string                `json:"tax_status"`
	Step                   string                `json:"step"`
	Subtotal               int64                 `json:"subtotal"`
	Tax                    int64                 `json:"tax"`
	Total                  int64                 `json:"total"`
	IssuedAt               time.Time             `json:"issued_at"`
	ServicePeriod          map[string]time.Time  `json:"service_period"`
	BillingConfigurationID string                `json:"billing_configuration_id"`
	StripeAccountID        string                `json:"stripe_account_id"`
	Lines                  []lineView            `json:"lines"`
	ExternalInvoice        *externalInvoiceView  `json:"external_invoice"`
	AnrokTransaction       *anrokTransactionView `json:"anrok_transaction"`
	CreditNotes            []creditNoteView      `json:"credit_notes"`
	DisputeStatus          *string               `json:"dispute_status"`
	Errors                 []errorView           `json:"errors"`
	Metadata               json.RawMessage       `json:"metadata"`
	WorkflowID             string                `json:"workflow_id"`
	CreatedAt              time.Time             `json:"created_at"`
	UpdatedAt              time.Time             `json:"updated_at"`
}

func (s *Server) getInvoice(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	view, err := s.invoiceView(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

func (s *Server) invoiceView(ctx context.Context, id string) (invoiceView, error) {
	q := s.Store.Queries
	inv, err := q.GetInvoice(ctx, id)
	if store.IsNotFound(err) {
		return invoiceView{}, notFound("invoice", id)
	} else if err != nil {
		return invoiceView{}, err
	}
	lines, err := q.ListInvoiceLines(ctx, id)
	if err != nil {
		return invoiceView{}, err
	}
	// The breakdown shown is the committed one once there is one, else the calculated one.
	taxes, err := q.ListLineTaxResults(ctx, sqldb.ListLineTaxResultsParams{InvoiceID: id, Kind: "committed"})
	if err != nil {
		return invoiceView{}, err
	}
	if len(taxes) == 0 {
		if taxes, err = q.ListLineTaxResults(ctx, sqldb.ListLineTaxResultsParams{InvoiceID: id, Kind: "calculated"}); err != nil {
			return invoiceView{}, err
		}
	}
	byLine := map[string][]tax.BreakdownEntry{}
	preTax := map[string]string{}
	for _, t := range taxes {
		var bd []tax.BreakdownEntry
		if err := json.Unmarshal(t.Jurisdictions, &bd); err != nil {
			return invoiceView{}, fmt.Errorf("stored breakdown of %s/%s: %w", id, t.LineID, err)
		}
		byLine[t.LineID] = bd
		preTax[t.LineID] = t.PreTaxAmount.String()
	}
	errs, err := q.ListInvoiceErrors(ctx, id)
	if err != nil {
		return invoiceView{}, err
	}
	v := invoiceView{
		ID: inv.ID, CustomerID: inv.CustomerID, Currency: inv.Currency, Status: inv.Status, TaxStatus: inv.TaxStatus,
		Step: inv.Step, Subtotal: inv.Subtotal, Tax: inv.Tax, Total: inv.Total, IssuedAt: inv.IssuedAt,
		ServicePeriod:          map[string]time.Time{"start": inv.PeriodStart, "end": inv.PeriodEnd},
		BillingConfigurationID: inv.BillingConfigurationID, StripeAccountID: inv.StripeAccountID,
		Lines: make([]lineView, 0, len(lines)), CreditNotes: []creditNoteView{}, Errors: []errorView{}, DisputeStatus: inv.DisputeStatus,
		Metadata: inv.Metadata, WorkflowID: inv.WorkflowID, CreatedAt: inv.CreatedAt, UpdatedAt: inv.UpdatedAt,
	}
	for _, l := range lines {
		lv := lineView{ID: l.ID, ProductID: l.ProductID, Description: l.Description, Amount: l.Amount, TaxInclusive: l.TaxInclusive, Tax: l.Tax, TaxBreakdown: []breakdownView{}}
		if l.Quantity.Valid {
			q := l.Quantity.Decimal.String()
			lv.Quantity = &q
		}
		if l.UnitPrice.Valid {
			u := l.UnitPrice.Decimal.String()
			lv.UnitPrice = &u
		}
		if p, ok := preTax[l.ID]; ok {
			lv.PreTaxAmount = &p
		}
		for _, e := range byLine[l.ID] {
			lv.TaxBreakdown = append(lv.TaxBreakdown, breakdownView{
				Jurisdiction: e.Jurisdiction, Level: e.Level, TaxType: e.TaxType, TaxName: e.TaxName,
				Rate: e.Rate.String(), TaxableAmount: e.TaxableAmount.String(), TaxAmount: e.TaxAmount.String(),
				BilledAmount: e.Billed, NotTaxedReason: e.NotTaxedReason, ExemptReason: e.ExemptReason,
			})
		}
		v.Lines = append(v.Lines, lv)
	}
	if inv.StripeInvoiceID != nil {
		v.ExternalInvoice = &externalInvoiceView{
			BillingProviderType: "stripe", InvoiceID: *inv.StripeInvoiceID, Number: inv.StripeInvoiceNumber,
			IssuedAtTimestamp: inv.StripeFinalizedAt, ExternalStatus: inv.ExternalStatus,
		}
	}
	if inv.AnrokTransactionID != nil {
		v.AnrokTransaction = &anrokTransactionView{ID: *inv.AnrokTransactionID, Version: inv.AnrokTransactionVersion, Status: deref(inv.AnrokTransactionStatus)}
	}
	notes, err := q.ListCreditNotes(ctx, id)
	if err != nil {
		return invoiceView{}, err
	}
	for _, cn := range notes {
		cv, err := s.creditNoteViewCtx(ctx, cn)
		if err != nil {
			return invoiceView{}, err
		}
		v.CreditNotes = append(v.CreditNotes, cv)
	}
	for _, e := range errs {
		v.Errors = append(v.Errors, errorView{Code: e.Code, Message: e.Message, Step: e.Step, Provider: e.Provider, At: e.At, ResolvedAt: e.ResolvedAt})
	}
	return v, nil
}

// ---- operator actions ----

type actionRequest struct {
	Reason string `json:"reason" validate:"max=500"`
}

func (s *Server) decodeAction(w http.ResponseWriter, r *http.Request) (actionRequest, error) {
	var req actionRequest
	if r.ContentLength == 0 {
		return req, nil
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return req, err
	}
	var p problems
	p.checkStruct("", &req)
	return req, p.err(http.StatusUnprocessableEntity)
}

// invoiceAction reads the invoice an operator action names and its optional body.
func (s *Server) invoiceAction(w http.ResponseWriter, r *http.Request) (sqldb.Invoice, actionRequest, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return sqldb.Invoice{}, actionRequest{}, err
	}
	req, err := s.decodeAction(w, r)
	if err != nil {
		return sqldb.Invoice{}, req, err
	}
	inv, err := s.Store.GetInvoice(r.Context(), id)
	if store.IsNotFound(err) {
		return inv, req, notFound("invoice", id)
	}
	return inv, req, err
}

// signal sends an operator action to the invoice's workflow and answers 202.
func (s *Server) signal(w http.ResponseWriter, r *http.Request, inv sqldb.Invoice, name string, arg any) error {
	if err := s.Workflows.Signal(r.Context(), inv.ID, name, arg); err != nil {
		var closed *serviceerror.NotFound
		if errors.As(err, &closed) {
			return errorf(http.StatusConflict, "workflow_closed", "id", fmt.Sprintf("invoice %q is no longer watched by its workflow (its watch period ended), so taxflow cannot act on it: make the change in Stripe and Anrok directly", inv.ID))
		}
		s.Log.Warn("signal failed", "invoice_id", inv.ID, "signal", name, "error", err)
		return errorf(http.StatusServiceUnavailable, "workflow_unreachable", "", "the invoice's workflow could not be signalled; retry in a moment")
	}
	writeJSON(w, http.StatusAccepted, invoiceAccepted{ID: inv.ID, Status: inv.Status, WorkflowID: inv.WorkflowID})
	return nil
}

func (s *Server) retryInvoice(w http.ResponseWriter, r *http.Request) error {
	inv, req, err := s.invoiceAction(w, r)
	if err != nil {
		return err
	}
	errs, err := s.Store.ListInvoiceErrors(r.Context(), inv.ID)
	if err != nil {
		return err
	}
	failed := false
	for _, e := range errs {
		failed = failed || e.ResolvedAt == nil
	}
	if !failed {
		return unprocessable("invoice_not_failed", "id", fmt.Sprintf("invoice %q has no failed step to retry (status %s)", inv.ID, inv.Status))
	}
	return s.signal(w, r, inv, workflows.SignalRetry, workflows.RetrySignal{Reason: req.Reason})
}

func (s *Server) voidInvoice(w http.ResponseWriter, r *http.Request) error {
	inv, req, err := s.invoiceAction(w, r)
	if err != nil {
		return err
	}
	switch invoicing.Status(inv.Status) {
	case invoicing.StatusFinalized, invoicing.StatusUncollectible:
	case invoicing.StatusPaid:
		return unprocessable("invoice_paid", "id", fmt.Sprintf("invoice %q is paid and cannot be voided: issue a credit note instead", inv.ID))
	case invoicing.StatusVoid:
		writeJSON(w, http.StatusOK, invoiceAccepted{ID: inv.ID, Status: inv.Status, WorkflowID: inv.WorkflowID})
		return nil
	default:
		// A failed void leaves the invoice failed; finalized in Stripe it still can be voided.
		if inv.StripeFinalizedAt == nil {
			return unprocessable("invoice_not_finalized", "id", fmt.Sprintf("invoice %q is %s, not finalized: only a finalized invoice can be voided", inv.ID, inv.Status))
		}
	}
	return s.signal(w, r, inv, workflows.SignalVoid, workflows.VoidSignal{Reason: req.Reason})
}
