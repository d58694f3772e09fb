package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/money"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// InvoiceRef names an invoice: activity inputs are ids, bodies stay in Postgres.
type InvoiceRef struct {
	InvoiceID string
	// Retry counts the operator's retries of the invoice so far.
	Retry int `json:",omitempty"`
}

// CodeInvoicePaid: a void refused because the invoice is paid.
const CodeInvoicePaid = billing.CodeInvoicePaid

// providerCall scopes a billing call: keys are fresh per attempt, and a call after an
// operator's retry, or after an attempt that may have reached the provider, may find what
// that earlier attempt did (see AttemptInterceptor).
func providerCall(ctx context.Context, in InvoiceRef) billing.Call {
	n := attempt(ctx)
	return billing.Call{InvoiceID: in.InvoiceID, Attempt: fmt.Sprintf("r%da%d", in.Retry, n), Retried: in.Retry > 0 || earlierAttemptMayHaveSent(ctx)}
}

// CheckResult is what the workflow needs to know to run the invoice.
type CheckResult struct {
	CustomerID        string `json:",omitempty"`
	StripeAccountID   string
	AnrokConnectionID string
	TaxMode           string
	TaxWait           time.Duration
	OnTaxTimeout      string
	Subtotal          int64
	Lines             int
	// LeaveAsDraft: stop before Stripe finalization; a person finalizes in Stripe.
	LeaveAsDraft bool `json:",omitempty"`
	// SkipBelow is the currency's Stripe minimum when the account skips invoices whose total
	// is under it (0: nothing is skipped).
	SkipBelow int64 `json:",omitempty"`
}

// CheckInvoice checks an invoice against the current configuration before any provider
// call: a usable customer address, an Anrok product for every line, a connection to use.
// It records the connection the invoice will use.
func (a *Activities) CheckInvoice(ctx context.Context, in InvoiceRef) (CheckResult, error) {
	res, err := a.checkInvoice(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) checkInvoice(ctx context.Context, in InvoiceRef) (CheckResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, true)
	if err != nil {
		return CheckResult{}, err
	}
	if b.Anrok == nil {
		return CheckResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAnrokConnectionMissing,
			"no Anrok connection to compute tax with: create one with PUT /v1/anrok-connections/{id} (or name one in the customer's anrok_connection_id)")
	}
	shipping, billingAddr, err := b.addresses()
	if err != nil {
		return CheckResult{}, err
	}
	if _, _, ok := invoicing.ChooseAddress(shipping, billingAddr); !ok {
		return CheckResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeCustomerAddressMissing,
			fmt.Sprintf("customer %s has no usable address: set shipping_address or billing_address (country, and region or postal_code in the US and Canada) with PUT /v1/customers/%s, then retry", b.Customer.ID, b.Customer.ID))
	}
	mapping := invoicing.MapProducts(b.Lines, b.Products, deref(b.Anrok.FallbackProductID))
	if len(mapping.Unmapped) > 0 {
		return CheckResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeProductNotMapped,
			fmt.Sprintf("products %s have no anrok_product_id and Anrok connection %s has no fallback_product_id: map them with PUT /v1/products/{id} or set a fallback product, then retry",
				strings.Join(mapping.Unmapped, ", "), b.Anrok.ID))
	}
	q := a.Store.Queries
	// Until the Stripe draft exists, the invoice follows its billing configuration to the
	// Stripe account the configuration names today (with the customer id it names there).
	if b.Invoice.StripeInvoiceID == nil && b.Billing.StripeAccountID != b.Invoice.StripeAccountID {
		if err := q.SetInvoiceStripeAccount(ctx, sqldb.SetInvoiceStripeAccountParams{ID: in.InvoiceID, StripeAccountID: b.Billing.StripeAccountID}); err != nil {
			return CheckResult{}, fmt.Errorf("record stripe account: %w", err)
		}
		if b.StripeAccount, err = q.GetStripeAccount(ctx, b.Billing.StripeAccountID); err != nil {
			return CheckResult{}, fmt.Errorf("load stripe account: %w", err)
		}
		if b.Settings, err = invoicing.ParseStripeSettings(b.StripeAccount.Settings); err != nil {
			return CheckResult{}, err
		}
	}
	if err := q.SetInvoiceChecked(ctx, sqldb.SetInvoiceCheckedParams{ID: in.InvoiceID, AnrokConnectionID: &b.Anrok.ID, Step: string(invoicing.StepDraft)}); err != nil {
		return CheckResult{}, fmt.Errorf("record connection: %w", err)
	}
	if len(mapping.Fallback) > 0 {
		a.logger(ctx).Info("products use the connection's fallback Anrok product", "products", mapping.Fallback)
	}
	return CheckResult{
		CustomerID:        b.Customer.ID,
		StripeAccountID:   b.StripeAccount.ID,
		AnrokConnectionID: b.Anrok.ID,
		TaxMode:           b.Settings.TaxMode,
		TaxWait:           b.Settings.EffectiveTaxWait(a.DefaultTaxWait),
		OnTaxTimeout:      b.Settings.OnTaxTimeout,
		Subtotal:          b.Invoice.Subtotal,
		Lines:             len(b.Lines),
		LeaveAsDraft:      b.Settings.LeaveAsDraft,
		SkipBelow:         skipBelow(b),
	}, nil
}

func skipBelow(b *invoiceBundle) int64 {
	if !b.Settings.SkipBelowMinimum {
		return 0
	}
	if c, ok := money.LookupCurrency(b.Invoice.Currency); ok {
		return c.StripeMinimum
	}
	return 0
}

// DraftResult names the provider's draft.
type DraftResult struct {
	StripeInvoiceID string
	// Fresh: created by this call with no lines yet (the lines step need not read it).
	Fresh bool
}

// CreateStripeDraft creates the Stripe draft for the invoice (or finds the one an earlier
// attempt created) and records its id.
func (a *Activities) CreateStripeDraft(ctx context.Context, in InvoiceRef) (DraftResult, error) {
	res, err := a.createStripeDraft(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) createStripeDraft(ctx context.Context, in InvoiceRef) (DraftResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return DraftResult{}, err
	}
	if b.Invoice.StripeInvoiceID != nil {
		return DraftResult{StripeInvoiceID: *b.Invoice.StripeInvoiceID}, nil
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return DraftResult{}, err
	}
	meta := map[string]string{}
	if len(b.Invoice.Metadata) > 0 {
		if err := json.Unmarshal(b.Invoice.Metadata, &meta); err != nil {
			return DraftResult{}, corrupt("stored metadata", err)
		}
	}
	d := billing.Draft{
		CustomerRef:      b.Billing.StripeCustomerID,
		Currency:         b.Invoice.Currency,
		CollectionMethod: b.Billing.CollectionMethod,
		Metadata:         meta,
		ReceivedAt:       b.Invoice.CreatedAt,
	}
	if d.CollectionMethod == "send_invoice" {
		d.DaysUntilDue = invoicing.DefaultDaysUntilDue
		if b.Settings.DaysUntilDue != nil {
			d.DaysUntilDue = *b.Settings.DaysUntilDue
		}
	}
	if b.Settings.AlignEffectiveAt {
		d.EffectiveAt = invoicing.LastDayOfPeriod(b.Invoice.PeriodStart, b.Invoice.PeriodEnd)
	}
	d.AutomaticTax = b.Settings.TaxMode == invoicing.TaxModeStripeApp
	inv, err := p.CreateDraft(ctx, providerCall(ctx, in), d)
	if err != nil {
		return DraftResult{}, err
	}
	if err := a.Store.SetStripeInvoice(ctx, sqldb.SetStripeInvoiceParams{ID: in.InvoiceID, StripeInvoiceID: &inv.ID, Step: string(invoicing.StepTax)}); err != nil {
		return DraftResult{}, fmt.Errorf("record stripe invoice %s: %w", inv.ID, err)
	}
	return DraftResult{StripeInvoiceID: inv.ID, Fresh: len(inv.Lines) == 0 && inv.Status == "draft"}, nil
}

// TaxSummary is the outcome of a tax call.
type TaxSummary struct {
	Tax int64
	// Total is the invoice's total with this tax (tax inside tax-inclusive lines counted once).
	Total              int64 `json:",omitempty"`
	TransactionID      string
	TransactionVersion int64
}

// CalculateTax asks the tax engine for the invoice's tax without recording a transaction
// (Anrok createEphemeral) and stores the answer as the invoice's calculated tax.
func (a *Activities) CalculateTax(ctx context.Context, in InvoiceRef) (TaxSummary, error) {
	res, err := a.computeTax(ctx, in, false)
	return res, a.temporalError(err)
}

// CommitTax records the invoice's transaction for filing (Anrok createOrUpdate, under the
// transaction id derived from the invoice) and stores the answer as its committed tax.
func (a *Activities) CommitTax(ctx context.Context, in InvoiceRef) (TaxSummary, error) {
	res, err := a.computeTax(ctx, in, true)
	return res, a.temporalError(err)
}

func (a *Activities) computeTax(ctx context.Context, in InvoiceRef, commit bool) (TaxSummary, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return TaxSummary{}, err
	}
	if b.Anrok == nil {
		return TaxSummary{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAnrokConnectionMissing, "the invoice's Anrok connection is gone: create it again, then retry")
	}
	engine, err := a.taxEngineFor(*b.Anrok)
	if err != nil {
		return TaxSummary{}, err
	}
	req, err := a.taxRequest(b)
	if err != nil {
		return TaxSummary{}, err
	}
	kind, status := "calculated", invoicing.TaxCalculated
	var res tax.Result
	if commit {
		kind, status = "committed", invoicing.TaxCommitted
		req.TransactionID = invoicing.AnrokTransactionID(b.Anrok.TransactionPrefix, b.Invoice.ID)
		res, err = engine.Commit(ctx, req)
	} else {
		res, err = engine.Calculate(ctx, req)
	}
	if err != nil {
		return TaxSummary{}, err
	}
	if err := matchLines(b.Lines, &res); err != nil {
		return TaxSummary{}, err
	}
	if err := res.Allocate(); err != nil {
		return TaxSummary{}, failure.NeedsPersonError(failure.ProviderAnrok, "tax_answer_unusable", err.Error())
	}
	exclusive, err := a.saveTaxResult(ctx, b, kind, engine.Name(), res, status)
	if err != nil {
		return TaxSummary{}, err
	}
	return TaxSummary{Tax: res.Tax, Total: b.Invoice.Subtotal + exclusive, TransactionID: res.TransactionID, TransactionVersion: res.TransactionVersion}, nil
}

// matchLines checks that the engine answered for every line, by id (never by position).
func matchLines(lines []sqldb.InvoiceLine, res *tax.Result) error {
	got := map[string]bool{}
	for _, l := range res.Lines {
		got[l.LineID] = true
	}
	for _, l := range lines {
		if !got[l.ID] {
			return failure.RetryableError(failure.ProviderAnrok, "tax_answer_incomplete", fmt.Sprintf("the tax engine returned no result for line %s", l.ID), nil)
		}
	}
	if len(res.Lines) != len(lines) {
		return failure.RetryableError(failure.ProviderAnrok, "tax_answer_incomplete", fmt.Sprintf("the tax engine returned %d lines for %d", len(res.Lines), len(lines)), nil)
	}
	return nil
}

func (a *Activities) taxRequest(b *invoiceBundle) (tax.Request, error) {
	shipping, billingAddr, err := b.addresses()
	if err != nil {
		return tax.Request{}, err
	}
	addr, _, ok := invoicing.ChooseAddress(shipping, billingAddr)
	if !ok {
		return tax.Request{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeCustomerAddressMissing,
			fmt.Sprintf("customer %s has no usable address: set one with PUT /v1/customers/%s, then retry", b.Customer.ID, b.Customer.ID))
	}
	taxIDs, err := b.taxIDs()
	if err != nil {
		return tax.Request{}, err
	}
	mapping := invoicing.MapProducts(b.Lines, b.Products, deref(b.Anrok.FallbackProductID))
	if len(mapping.Unmapped) > 0 {
		return tax.Request{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeProductNotMapped,
			fmt.Sprintf("products %s have no Anrok product: map them with PUT /v1/products/{id}, then retry", strings.Join(mapping.Unmapped, ", ")))
	}
	req := tax.Request{
		Currency: b.Invoice.Currency,
		Customer: tax.Customer{
			ID:      invoicing.AnrokCustomerID(b.Customer, b.Anrok.TransactionPrefix),
			Name:    b.Customer.Name,
			Address: addr,
			TaxIDs:  taxIDs,
		},
		AccountingTime:     b.Invoice.IssuedAt,
		AccountingTimeZone: deref(b.Anrok.AccountingTimeZone),
		TaxDate:            invoicing.TaxDate(b.Invoice.IssuedAt, a.now()),
	}
	for _, l := range b.Lines {
		req.Lines = append(req.Lines, tax.Line{ID: l.ID, ProductCode: mapping.ByLine[l.ID], Amount: l.Amount, Quantity: l.Quantity, TaxIncluded: l.TaxInclusive})
	}
	return req, nil
}

// saveTaxResult stores a tax answer and returns the part of it not included in line amounts.
func (a *Activities) saveTaxResult(ctx context.Context, b *invoiceBundle, kind, engine string, res tax.Result, status invoicing.TaxStatus) (int64, error) {
	calculatedAt := res.CalculatedAt
	if calculatedAt.IsZero() {
		calculatedAt = a.now()
	}
	inclusive := map[string]bool{}
	for _, l := range b.Lines {
		inclusive[l.ID] = l.TaxInclusive
	}
	// The invoice total adds only the tax not already inside tax-inclusive line amounts.
	var exclusiveTax int64
	rows := sqldb.InsertLineTaxResultsParams{InvoiceID: b.Invoice.ID, Kind: kind}
	for _, l := range res.Lines {
		breakdown, err := json.Marshal(l.Breakdown)
		if err != nil {
			return 0, err
		}
		raw := l.Raw
		if len(raw) == 0 {
			raw = json.RawMessage("{}")
		}
		rows.LineIds = append(rows.LineIds, l.LineID)
		rows.TaxAmounts = append(rows.TaxAmounts, l.Tax)
		rows.PreTaxAmounts = append(rows.PreTaxAmounts, l.PreTaxAmount.String())
		rows.Jurisdictions = append(rows.Jurisdictions, string(breakdown))
		rows.Raws = append(rows.Raws, string(raw))
		if !inclusive[l.LineID] {
			exclusiveTax += l.Tax
		}
	}
	next := invoicing.StepLines
	if kind == "committed" {
		next = invoicing.StepFinalize
	}
	return exclusiveTax, a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		inv, err := q.GetInvoiceForUpdate(ctx, b.Invoice.ID)
		if err != nil {
			return err
		}
		if kind == "calculated" && inv.Status == string(invoicing.StatusFailed) {
			// A calculation that outlived its deadline: the invoice failed meanwhile and the
			// retry calculates again; a late answer must not overwrite the failure.
			return nil
		}
		var txID, txStatus *string
		var txVersion *int64
		if res.TransactionID != "" {
			txID, txVersion, txStatus = &res.TransactionID, &res.TransactionVersion, ptr("committed")
		}
		if err := q.UpsertTaxResult(ctx, sqldb.UpsertTaxResultParams{
			InvoiceID: b.Invoice.ID, Kind: kind, Engine: engine, TaxAmount: res.Tax,
			PreTaxAmount: res.PreTaxAmount, TransactionID: txID, TransactionVersion: txVersion, CalculatedAt: calculatedAt,
		}); err != nil {
			return fmt.Errorf("save tax result: %w", err)
		}
		if err := q.DeleteLineTaxResults(ctx, sqldb.DeleteLineTaxResultsParams{InvoiceID: b.Invoice.ID, Kind: kind}); err != nil {
			return err
		}
		if err := q.InsertLineTaxResults(ctx, rows); err != nil {
			return fmt.Errorf("save line tax results: %w", err)
		}
		if err := q.SetLineTaxes(ctx, sqldb.SetLineTaxesParams{InvoiceID: b.Invoice.ID, LineIds: rows.LineIds, Taxes: rows.TaxAmounts}); err != nil {
			return err
		}
		return q.SetInvoiceTaxResult(ctx, sqldb.SetInvoiceTaxResultParams{
			ID: b.Invoice.ID, Tax: res.Tax, ExclusiveTax: exclusiveTax, TaxStatus: string(status), Step: string(next),
			AnrokTransactionID: txID, AnrokTransactionVersion: txVersion, AnrokTransactionStatus: txStatus,
		})
	})
}

// LinesInput asks for the draft's lines to be written with the invoice's calculated tax.
type LinesInput struct {
	InvoiceRef
	// WithoutTax writes the lines with no tax amounts: the provider computes tax itself
	// (stripe_app), or the tax deadline passed under a policy that goes on without it.
	WithoutTax bool `json:",omitempty"`
	// KnownEmpty: the workflow created the draft and has not written lines before, so the
	// draft need not be read first.
	KnownEmpty bool
}

// LinesResult is the draft after its lines were written.
type LinesResult struct {
	StripeTax   int64
	StripeTotal int64
}

// WriteDraftLines writes every invoice line onto the Stripe draft with its calculated tax
// as tax_amounts, keyed by the taxflow line id so a retry never adds a line twice.
func (a *Activities) WriteDraftLines(ctx context.Context, in LinesInput) (LinesResult, error) {
	res, err := a.writeDraftLines(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) writeDraftLines(ctx context.Context, in LinesInput) (LinesResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return LinesResult{}, err
	}
	if b.Invoice.StripeInvoiceID == nil {
		return LinesResult{}, failure.RetryableError(failure.ProviderTaxflow, invoicing.CodeStripeInvoiceNotCreated, "the Stripe draft is not recorded yet", nil)
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return LinesResult{}, err
	}
	kind := "calculated"
	if in.WithoutTax {
		kind = ""
	}
	lines, err := a.stripeLines(ctx, b, kind)
	if err != nil {
		return LinesResult{}, err
	}
	if err := checkStripeMaximum(b); err != nil {
		return LinesResult{}, err
	}
	call := providerCall(ctx, in.InvoiceRef)
	var known *billing.Invoice
	if in.KnownEmpty && !call.Retried {
		known = &billing.Invoice{ID: *b.Invoice.StripeInvoiceID, Status: "draft"}
	}
	inv, err := p.WriteLines(ctx, call, *b.Invoice.StripeInvoiceID, lines, known)
	if err != nil {
		return LinesResult{}, err
	}
	if err := a.saveStripeLineIDs(ctx, b.Invoice.ID, inv); err != nil {
		return LinesResult{}, err
	}
	if err := a.Store.SetDraftLinesWritten(ctx, sqldb.SetDraftLinesWrittenParams{ID: b.Invoice.ID, Fingerprint: ptr(taxFingerprint(lines)),
		Step: string(invoicing.StepCommit), Status: string(invoicing.StatusDraft)}); err != nil {
		return LinesResult{}, err
	}
	return LinesResult{StripeTax: inv.Tax, StripeTotal: inv.Total}, nil
}

func (a *Activities) saveStripeLineIDs(ctx context.Context, invoiceID string, inv billing.Invoice) error {
	var ids, lineItems, items []string
	for _, l := range inv.Lines {
		if l.LineID == "" {
			continue
		}
		ids = append(ids, l.LineID)
		lineItems = append(lineItems, l.ID)
		items = append(items, l.ItemID)
	}
	if len(ids) == 0 {
		return nil
	}
	return a.Store.SetLinesStripeIDs(ctx, sqldb.SetLinesStripeIDsParams{InvoiceID: invoiceID, LineIds: ids, LineItemIds: lineItems, InvoiceItemIds: items})
}

// stripeLines builds the Stripe lines of an invoice with the tax of the given kind ("" for
// lines without tax).
func (a *Activities) stripeLines(ctx context.Context, b *invoiceBundle, kind string) ([]billing.Line, error) {
	if kind == "" {
		sources := make([]invoicing.StripeLineSource, 0, len(b.Lines))
		for _, l := range b.Lines {
			p := b.Products[l.ProductID]
			sources = append(sources, invoicing.StripeLineSource{Line: l, ProductName: p.Name, StripeProduct: deref(p.StripeProductID)})
		}
		return invoicing.StripeInvoiceLines(sources, b.Settings, b.Invoice.Currency, b.Invoice.PeriodStart, b.Invoice.PeriodEnd), nil
	}
	results, err := a.Store.ListLineTaxResults(ctx, sqldb.ListLineTaxResultsParams{InvoiceID: b.Invoice.ID, Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("load %s tax: %w", kind, err)
	}
	byLine := map[string][]tax.BreakdownEntry{}
	for _, r := range results {
		var bd []tax.BreakdownEntry
		if err := json.Unmarshal(r.Jurisdictions, &bd); err != nil {
			return nil, corrupt(fmt.Sprintf("stored breakdown of line %s", r.LineID), err)
		}
		byLine[r.LineID] = bd
	}
	sources := make([]invoicing.StripeLineSource, 0, len(b.Lines))
	for _, l := range b.Lines {
		bd, ok := byLine[l.ID]
		if !ok {
			return nil, failure.NeedsPersonError(failure.ProviderTaxflow, "tax_missing", fmt.Sprintf("line %s has no %s tax: retry the invoice", l.ID, kind))
		}
		if bd == nil {
			bd = []tax.BreakdownEntry{}
		}
		p := b.Products[l.ProductID]
		sources = append(sources, invoicing.StripeLineSource{Line: l, ProductName: p.Name, StripeProduct: deref(p.StripeProductID), Breakdown: bd})
	}
	return invoicing.StripeInvoiceLines(sources, b.Settings, b.Invoice.Currency, b.Invoice.PeriodStart, b.Invoice.PeriodEnd), nil
}

// FinalizeResult is the finalized Stripe invoice.
type FinalizeResult struct {
	StripeInvoiceID string
	Number          string
	Tax             int64
	Total           int64
	// Mismatch is set when the finalized invoice's tax differs from Anrok's (it is issued:
	// a person must void or credit it). Never expected: the draft is checked first.
	Mismatch *FailureDetails `json:",omitempty"`
}

// Finalization modes (FinalizeInput.Mode).
const (
	// FinalizeCommitted: the draft must carry the tax committed in Anrok (anrok_api).
	FinalizeCommitted = ""
	// FinalizeWithoutTax: the tax deadline passed under the finalize policy; the lines
	// carry no tax and nothing was committed.
	FinalizeWithoutTax = "without_tax"
	// FinalizeStripeTax: Stripe computed the tax (the Anrok Stripe app); it is read back.
	FinalizeStripeTax = "stripe_app"
	// FinalizeStripeTaxIncomplete: the Anrok Stripe app never delivered; automatic tax is
	// turned off and the invoice finalized without tax (finalize policy).
	FinalizeStripeTaxIncomplete = "stripe_app_without_tax"
)

// FinalizeInput asks for the invoice's Stripe finalization.
type FinalizeInput struct {
	InvoiceRef
	Mode string `json:",omitempty"`
}

// FinalizeStripeInvoice finalizes the invoice's Stripe draft. With committed tax it first
// makes the draft carry exactly that tax (rewriting it only when what was last written
// differs) and checks it against the tax Anrok recorded; with Stripe's own tax it reads the
// finalized tax back.
func (a *Activities) FinalizeStripeInvoice(ctx context.Context, in FinalizeInput) (FinalizeResult, error) {
	res, err := a.finalizeStripeInvoice(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) finalizeStripeInvoice(ctx context.Context, in FinalizeInput) (FinalizeResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return FinalizeResult{}, err
	}
	if b.Invoice.StripeInvoiceID == nil {
		return FinalizeResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeStripeInvoiceNotCreated, "the invoice has no Stripe draft recorded: retry it")
	}
	ext := *b.Invoice.StripeInvoiceID
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return FinalizeResult{}, err
	}
	call := providerCall(ctx, in.InvoiceRef)
	var committed sqldb.TaxResult
	switch in.Mode {
	case FinalizeCommitted:
		if committed, err = a.prepareCommittedDraft(ctx, b, p, call); err != nil {
			return FinalizeResult{}, err
		}
	case FinalizeStripeTaxIncomplete:
		if _, err := p.DisableAutomaticTax(ctx, call, ext); err != nil {
			return FinalizeResult{}, err
		}
	}
	inv, err := p.Finalize(ctx, call, ext)
	if err != nil {
		return FinalizeResult{}, err
	}
	finalizedAt := inv.FinalizedAt
	if finalizedAt.IsZero() {
		finalizedAt = a.now()
	}
	number := inv.Number
	if err := a.recordFinalized(ctx, b.Invoice.ID, number, finalizedAt); err != nil {
		return FinalizeResult{}, fmt.Errorf("record finalization: %w", err)
	}
	res := FinalizeResult{StripeInvoiceID: inv.ID, Number: inv.Number, Tax: inv.Tax, Total: inv.Total}
	switch in.Mode {
	case FinalizeCommitted:
		if inv.Tax != committed.TaxAmount {
			fe, _ := failure.As(mismatch(ext, inv.Tax, committed.TaxAmount, "after finalization: void or credit the invoice"))
			res.Mismatch = &FailureDetails{Provider: fe.Provider, Class: string(fe.Class), Code: fe.Code, Message: fe.Message}
		}
	case FinalizeStripeTax:
		if err := a.saveStripeTax(ctx, b, inv, "committed", invoicing.TaxCommitted); err != nil {
			return FinalizeResult{}, err
		}
	default:
		if err := a.Store.SetInvoiceTax(ctx, sqldb.SetInvoiceTaxParams{ID: b.Invoice.ID, Tax: inv.Tax, ExclusiveTax: inv.Total - inv.Subtotal, TaxStatus: string(invoicing.TaxFailed)}); err != nil {
			return FinalizeResult{}, err
		}
	}
	return res, nil
}

// prepareCommittedDraft makes the draft carry the committed tax and checks it.
func (a *Activities) prepareCommittedDraft(ctx context.Context, b *invoiceBundle, p billing.Provider, call billing.Call) (sqldb.TaxResult, error) {
	ext := *b.Invoice.StripeInvoiceID
	committed, err := a.Store.GetTaxResult(ctx, sqldb.GetTaxResultParams{InvoiceID: b.Invoice.ID, Kind: "committed"})
	if err != nil {
		if store.IsNotFound(err) {
			return committed, failure.NeedsPersonError(failure.ProviderTaxflow, "tax_not_committed", "the invoice has no committed tax: retry it")
		}
		return committed, fmt.Errorf("load committed tax: %w", err)
	}
	lines, err := a.stripeLines(ctx, b, "committed")
	if err != nil {
		return committed, err
	}
	fp := taxFingerprint(lines)
	if deref(b.Invoice.StripeDraftTaxFingerprint) == fp {
		return committed, nil
	}
	// The draft carries another answer than the committed one (rates changed since the
	// calculation, or an earlier round wrote something else): rewrite it first.
	cur, err := p.Get(ctx, ext)
	if err != nil {
		return committed, err
	}
	if cur.Status != "draft" {
		return committed, nil // finalized by an earlier attempt: checked after finalization
	}
	draft, err := p.WriteLines(ctx, call, ext, lines, &cur)
	if err != nil {
		return committed, err
	}
	if draft.Tax != committed.TaxAmount {
		return committed, mismatch(ext, draft.Tax, committed.TaxAmount, "on the draft; nothing was finalized")
	}
	return committed, a.Store.SetDraftTaxFingerprint(ctx, sqldb.SetDraftTaxFingerprintParams{ID: b.Invoice.ID, Fingerprint: &fp})
}

// AnrokAppTransactionID is the id under which the Anrok Stripe app records a Stripe
// invoice in Anrok (Anrok's convention for Stripe-sourced transactions).
func AnrokAppTransactionID(stripeInvoiceID string) string { return "stripe:" + stripeInvoiceID }

// saveStripeTax stores the tax Stripe computed (automatic tax, the Anrok Stripe app) as the
// invoice's tax of the given kind: per line, one entry per Stripe tax amount. Once
// finalized, the transaction is the Anrok app's, recorded under its id.
func (a *Activities) saveStripeTax(ctx context.Context, b *invoiceBundle, inv billing.Invoice, kind string, status invoicing.TaxStatus) error {
	res := tax.Result{Tax: inv.Tax, CalculatedAt: a.now()}
	byLine := map[string]billing.InvoiceLine{}
	for _, l := range inv.Lines {
		if l.LineID != "" {
			byLine[l.LineID] = l
		}
	}
	var pre int64
	for _, l := range b.Lines {
		lr := tax.LineResult{LineID: l.ID, PreTaxAmount: decimal.NewFromInt(l.Amount), Breakdown: []tax.BreakdownEntry{}}
		if sl, ok := byLine[l.ID]; ok {
			raw, _ := json.Marshal(sl.TaxDetails)
			lr.Raw = raw
			for _, d := range sl.TaxDetails {
				lr.Tax += d.Amount
				entry := tax.BreakdownEntry{Jurisdiction: "Stripe automatic tax", TaxName: "Anrok (Stripe app)",
					TaxableAmount: decimal.NewFromInt(d.TaxableAmount), TaxAmount: decimal.NewFromInt(d.Amount), Billed: d.Amount}
				if d.Amount == 0 && d.TaxabilityReason != "" && d.TaxabilityReason != "standard_rated" {
					entry.NotTaxedReason = d.TaxabilityReason
				}
				if d.TaxableAmount != 0 {
					entry.Rate = decimal.NewFromInt(d.Amount).DivRound(decimal.NewFromInt(d.TaxableAmount), 6)
				}
				lr.Breakdown = append(lr.Breakdown, entry)
			}
		}
		pre += l.Amount
		res.Lines = append(res.Lines, lr)
	}
	res.PreTaxAmount = decimal.NewFromInt(pre)
	if kind == "committed" {
		res.TransactionID = AnrokAppTransactionID(inv.ID)
	}
	_, err := a.saveTaxResult(ctx, b, kind, "stripe_app", res, status)
	return err
}

// StripeTaxResult says whether Stripe's own tax calculation is complete on the draft.
type StripeTaxResult struct {
	Complete bool
	Tax      int64
	Total    int64
}

// ReadStripeTax reads the draft back from Stripe and, once its automatic tax is complete,
// stores that tax as the invoice's calculated tax (stripe_app mode).
func (a *Activities) ReadStripeTax(ctx context.Context, in InvoiceRef) (StripeTaxResult, error) {
	res, err := a.readStripeTax(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) readStripeTax(ctx context.Context, in InvoiceRef) (StripeTaxResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil || b.Invoice.StripeInvoiceID == nil {
		return StripeTaxResult{}, err
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return StripeTaxResult{}, err
	}
	inv, err := p.Get(ctx, *b.Invoice.StripeInvoiceID)
	if err != nil {
		return StripeTaxResult{}, err
	}
	if inv.AutomaticTax != "complete" {
		return StripeTaxResult{}, nil
	}
	if err := a.saveStripeTax(ctx, b, inv, "calculated", invoicing.TaxCalculated); err != nil {
		return StripeTaxResult{}, err
	}
	return StripeTaxResult{Complete: true, Tax: inv.Tax, Total: inv.Total}, nil
}

func mismatch(ext string, stripeTax, anrokTax int64, when string) error {
	return failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeTaxMismatch,
		fmt.Sprintf("Stripe invoice %s carries tax %d but Anrok recorded %d (%s)", ext, stripeTax, anrokTax, when))
}

// taxFingerprint identifies the tax amounts written onto a draft's lines.
func taxFingerprint(lines []billing.Line) string {
	h := sha256.New()
	for _, l := range lines {
		fmt.Fprintf(h, "%s:", l.LineID)
		for _, t := range l.Taxes {
			fmt.Fprintf(h, "%d/%t/%s;", t.Amount, t.Inclusive, t.Jurisdiction)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkStripeMaximum refuses an invoice whose total with tax is beyond Stripe's maximum
// before anything is written or committed: Stripe would refuse to finalize it.
func checkStripeMaximum(b *invoiceBundle) error {
	if b.Invoice.Total > money.StripeMaxAmount {
		return failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAmountExceedsStripeMax,
			fmt.Sprintf("the invoice's total with tax, %d, is beyond Stripe's maximum of %d minor units: post it again split in two, under new ids", b.Invoice.Total, money.StripeMaxAmount))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// VoidStripeInvoice voids the invoice's finalized Stripe invoice.
func (a *Activities) VoidStripeInvoice(ctx context.Context, in InvoiceRef) error {
	return a.temporalError(a.voidStripeInvoice(ctx, in))
}

func (a *Activities) voidStripeInvoice(ctx context.Context, in InvoiceRef) error {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return err
	}
	if b.Invoice.StripeInvoiceID == nil {
		return nil
	}
	p, err := a.stripeFor(b.StripeAccount)
	if err != nil {
		return err
	}
	if _, err := p.Void(ctx, providerCall(ctx, in), *b.Invoice.StripeInvoiceID); err != nil {
		if fe, ok := failure.As(err); ok && fe.Code == CodeInvoicePaid {
			// Stripe says paid: record what it is.
			if serr := a.Store.SetInvoicePaid(ctx, in.InvoiceID); serr != nil {
				return serr
			}
		}
		return err
	}
	return a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if err := q.SetInvoiceVoided(ctx, in.InvoiceID); err != nil {
			return err
		}
		return emit(ctx, q, alerts.InvoiceVoided, in.InvoiceID, string(invoicing.StepVoid), "", "voided through taxflow", nil)
	})
}

// VoidTaxResult says how the Anrok transaction was taken out of filing.
type VoidTaxResult struct {
	// TaxStatus is voided, or negated when Anrok had frozen the transaction for filing.
	TaxStatus string
}

// VoidTax voids the invoice's committed Anrok transaction; when Anrok has frozen it for
// filing, it records a negation instead (the exact inverse, under a derived id).
func (a *Activities) VoidTax(ctx context.Context, in InvoiceRef) (VoidTaxResult, error) {
	res, err := a.voidTax(ctx, in)
	return res, a.temporalError(err)
}

// NegationTransactionID is the id of the negation of a transaction (deterministic).
func NegationTransactionID(transactionID string) string { return transactionID + ":void" }

func (a *Activities) voidTax(ctx context.Context, in InvoiceRef) (VoidTaxResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return VoidTaxResult{}, err
	}
	if b.Invoice.AnrokTransactionID == nil {
		return VoidTaxResult{TaxStatus: b.Invoice.TaxStatus}, nil
	}
	if st := deref(b.Invoice.AnrokTransactionStatus); st == "voided" || st == "negated" {
		return VoidTaxResult{TaxStatus: map[string]string{"voided": "voided", "negated": "negated"}[st]}, nil
	}
	if b.Anrok == nil {
		return VoidTaxResult{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAnrokConnectionMissing, "the invoice's Anrok connection is gone: create it again, then retry")
	}
	engine, err := a.taxEngineFor(*b.Anrok)
	if err != nil {
		return VoidTaxResult{}, err
	}
	txID := *b.Invoice.AnrokTransactionID
	version := int64(0)
	if b.Invoice.AnrokTransactionVersion != nil {
		version = *b.Invoice.AnrokTransactionVersion
	}
	status := invoicing.TaxVoided
	err = engine.Void(ctx, txID, version)
	if errors.Is(err, tax.ErrTransactionFrozen) {
		// Filed already: a void would rewrite a filed return; a negation records the reversal
		// in the current period instead.
		status = invoicing.TaxNegated
		err = engine.Negate(ctx, txID, NegationTransactionID(txID), version)
		if errors.Is(err, tax.ErrDuplicateTransaction) {
			err = nil // an earlier attempt recorded the negation
		}
	}
	if err != nil {
		return VoidTaxResult{}, err
	}
	st := string(status)
	if err := a.Store.SetAnrokTransactionStatus(ctx, sqldb.SetAnrokTransactionStatusParams{ID: in.InvoiceID, AnrokTransactionStatus: &st, TaxStatus: st}); err != nil {
		return VoidTaxResult{}, err
	}
	return VoidTaxResult{TaxStatus: st}, nil
}

// ProgressInput records where the workflow is.
type ProgressInput struct {
	InvoiceID string
	Step      string
	Status    string
	// ResolveErrors marks the invoice's open errors resolved (a retry began).
	ResolveErrors bool
}

// RecordProgress records the workflow's step and the invoice status it implies.
func (a *Activities) RecordProgress(ctx context.Context, in ProgressInput) error {
	return a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if in.ResolveErrors {
			now := a.now()
			if err := q.ResolveInvoiceErrors(ctx, sqldb.ResolveInvoiceErrorsParams{InvoiceID: in.InvoiceID, ResolvedAt: &now}); err != nil {
				return err
			}
		}
		return q.SetInvoiceProgress(ctx, sqldb.SetInvoiceProgressParams{ID: in.InvoiceID, Step: in.Step, Status: in.Status})
	})
}

// FailureInput records a failed step.
type FailureInput struct {
	InvoiceID string
	Step      string
	Provider  string
	Class     string
	Code      string
	Message   string
	// KeepStatus leaves the invoice's status as it is (a finalized invoice whose void
	// failed stays finalized); otherwise it becomes failed.
	KeepStatus bool
	// Retry is the operator retries so far (one announcement per failure and retry).
	Retry int `json:",omitempty"`
}

// RecordFailure stores a step's error on the invoice and marks it failed.
func (a *Activities) RecordFailure(ctx context.Context, in FailureInput) error {
	taxFailed := in.Step == string(invoicing.StepTax) || in.Step == string(invoicing.StepCommit)
	return a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		if err := q.InsertInvoiceError(ctx, sqldb.InsertInvoiceErrorParams{
			InvoiceID: in.InvoiceID, Step: in.Step, Provider: in.Provider, Class: in.Class,
			Code: in.Code, Message: in.Message, At: a.now(),
		}); err != nil {
			return err
		}
		if err := q.SetInvoiceFailed(ctx, sqldb.SetInvoiceFailedParams{ID: in.InvoiceID, KeepStatus: in.KeepStatus, TaxFailed: taxFailed, Step: in.Step}); err != nil {
			return err
		}
		for _, typ := range failureEvents(in) {
			if err := emit(ctx, q, typ, in.InvoiceID, in.Step, in.Code, in.Message, map[string]any{"provider": in.Provider, "class": in.Class},
				in.Step, in.Code, fmt.Sprint(in.Retry)); err != nil {
				return err
			}
		}
		return nil
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// CompensationResult says whether VoidTaxOfUnfinalized voided the Anrok transaction.
type CompensationResult struct {
	Voided    bool
	TaxStatus string
}

// VoidTaxOfUnfinalized voids the invoice's committed Anrok transaction when its Stripe
// invoice is still a draft (finalization failed): nothing is filed for an invoice that was
// never issued. A retry commits the transaction again before finalizing.
func (a *Activities) VoidTaxOfUnfinalized(ctx context.Context, in InvoiceRef) (CompensationResult, error) {
	res, err := a.voidTaxOfUnfinalized(ctx, in)
	return res, a.temporalError(err)
}

func (a *Activities) voidTaxOfUnfinalized(ctx context.Context, in InvoiceRef) (CompensationResult, error) {
	b, err := a.loadInvoice(ctx, in.InvoiceID, false)
	if err != nil {
		return CompensationResult{}, err
	}
	if b.Invoice.AnrokTransactionID == nil || deref(b.Invoice.AnrokTransactionStatus) != "committed" {
		return CompensationResult{}, nil
	}
	if b.Invoice.StripeInvoiceID != nil {
		p, err := a.stripeFor(b.StripeAccount)
		if err != nil {
			return CompensationResult{}, err
		}
		inv, err := p.Get(ctx, *b.Invoice.StripeInvoiceID)
		if err != nil {
			return CompensationResult{}, err
		}
		if inv.Status != "draft" {
			return CompensationResult{}, nil // issued after all: the transaction stays
		}
	}
	res, err := a.voidTax(ctx, in)
	if err != nil {
		return CompensationResult{}, err
	}
	return CompensationResult{Voided: true, TaxStatus: res.TaxStatus}, nil
}

// recordFinalized records the finalization and announces it.
func (a *Activities) recordFinalized(ctx context.Context, invoiceID, number string, at time.Time) error {
	var received time.Time
	first := false
	err := a.Store.InTx(ctx, func(q *sqldb.Queries) error {
		inv, err := q.GetInvoiceForUpdate(ctx, invoiceID)
		if err != nil {
			return err
		}
		received, first = inv.CreatedAt, inv.StripeFinalizedAt == nil
		if err := q.SetInvoiceFinalized(ctx, sqldb.SetInvoiceFinalizedParams{ID: invoiceID, StripeInvoiceNumber: &number, StripeFinalizedAt: &at}); err != nil {
			return err
		}
		return emit(ctx, q, alerts.InvoiceFinalized, invoiceID, string(invoicing.StepFinalize), "", "finalized in Stripe", map[string]any{"stripe_invoice_number": number})
	})
	if err == nil && first {
		// Once per invoice: received → finalized.
		a.Metrics.ObserveFinalization(at.Sub(received))
	}
	return err
}
