// Package stripebilling is the Stripe implementation of billing.Provider, on stripe-go v82.
// It owns how a taxflow invoice becomes a Stripe invoice: the parameters, the idempotency
// keys (derived from the taxflow invoice, the operation and the parameters, never random),
// and the look-ups that keep a retry from creating anything twice after Stripe has
// forgotten a key (24 h). It does not touch the database.
package stripebilling

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stripe/stripe-go/v82"

	"github.com/taxflow/taxflow/internal/billing"
	"github.com/taxflow/taxflow/internal/failure"
)

// MetadataInvoiceID is the metadata key naming the taxflow invoice on a Stripe invoice.
const MetadataInvoiceID = "taxflow_invoice_id"

// MetadataLineID is the metadata key naming the taxflow line on a Stripe line.
const MetadataLineID = "taxflow_line_id"

// MaxLines is Stripe's limit of line items per invoice.
const MaxLines = 250

// Config says how to reach one Stripe account.
type Config struct {
	APIKey string
	// BaseURL overrides https://api.stripe.com (the simulator, stripe-mock).
	BaseURL    string
	HTTPClient *http.Client
}

// Provider talks to one Stripe account.
type Provider struct {
	sc *stripe.Client
}

var _ billing.Provider = (*Provider)(nil)

// quietLogger keeps stripe-go from printing to stderr: taxflow logs classified errors itself.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...interface{}) {}
func (quietLogger) Infof(string, ...interface{})  {}
func (quietLogger) Warnf(string, ...interface{})  {}
func (quietLogger) Errorf(string, ...interface{}) {}

// New builds a provider for one account.
func New(cfg Config) *Provider {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	bc := &stripe.BackendConfig{
		HTTPClient: hc,
		// Retries belong to Temporal (durable, visible, with the same idempotency key).
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     quietLogger{},
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.BaseURL != "" {
		bc.URL = stripe.String(strings.TrimRight(cfg.BaseURL, "/"))
	}
	return &Provider{sc: stripe.NewClient(cfg.APIKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc)))}
}

// idempotencyKey derives a key from the invoice, the operation, a digest of the
// parameters and the attempt: a request resent within an attempt (a lost response) replays
// Stripe's first answer; a call whose parameters legitimately changed gets a new key instead
// of an idempotency_error; and a new attempt gets a new key, since Stripe replays a saved
// error — even a 500 — for 24 hours (which is why a retried call first looks for what an
// earlier attempt did). Keys stay under Stripe's 255 characters.
func idempotencyKey(c billing.Call, op string, params ...string) string {
	h := sha256.New()
	for _, p := range params {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("taxflow/%s/%s/%s/%s", c.InvoiceID, op, c.Attempt, hex.EncodeToString(h.Sum(nil))[:16])
}

// CreateDraft creates the Stripe draft, unless an earlier attempt already did (found by the
// invoice's metadata among the customer's recent invoices).
func (p *Provider) CreateDraft(ctx context.Context, c billing.Call, d billing.Draft) (billing.Invoice, error) {
	if c.Retried {
		found, err := p.findDraft(ctx, c.InvoiceID, d)
		if err != nil {
			return billing.Invoice{}, err
		}
		if found != nil {
			return toInvoice(found), nil
		}
	}
	params := &stripe.InvoiceCreateParams{
		Customer:         stripe.String(d.CustomerRef),
		Currency:         stripe.String(strings.ToLower(d.Currency)),
		CollectionMethod: stripe.String(d.CollectionMethod),
		// A draft must wait for its tax: with auto_advance Stripe would finalize it on its
		// own after about an hour.
		AutoAdvance: stripe.Bool(false),
		// Stray pending invoice items of the customer belong to no taxflow invoice.
		PendingInvoiceItemsBehavior: stripe.String("exclude"),
		Metadata:                    map[string]string{},
	}
	if d.CollectionMethod == string(stripe.InvoiceCollectionMethodSendInvoice) {
		params.DaysUntilDue = stripe.Int64(d.DaysUntilDue)
	}
	if d.Description != "" {
		params.Description = stripe.String(d.Description)
	}
	if !d.EffectiveAt.IsZero() {
		params.EffectiveAt = stripe.Int64(d.EffectiveAt.Unix())
	}
	if d.AutomaticTax {
		// The provider (the Anrok Stripe app) is chosen in Stripe's dashboard, not here.
		params.AutomaticTax = &stripe.InvoiceCreateAutomaticTaxParams{
			Enabled:   stripe.Bool(true),
			Liability: &stripe.InvoiceCreateAutomaticTaxLiabilityParams{Type: stripe.String("self")},
		}
	}
	keys := make([]string, 0, len(d.Metadata))
	for k := range d.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	digest := []string{d.CustomerRef, d.Currency, d.CollectionMethod, strconv.FormatInt(d.DaysUntilDue, 10), d.Description,
		strconv.FormatInt(d.EffectiveAt.Unix(), 10), strconv.FormatBool(d.AutomaticTax)}
	for _, k := range keys {
		params.Metadata[k] = d.Metadata[k]
		digest = append(digest, k+"="+d.Metadata[k])
	}
	params.Metadata[MetadataInvoiceID] = c.InvoiceID
	params.SetIdempotencyKey(idempotencyKey(c, "create-draft", digest...))
	params.Context = ctx
	inv, err := p.sc.V1Invoices.Create(ctx, params)
	if err != nil {
		return billing.Invoice{}, classify("create draft", err)
	}
	return toInvoice(inv), nil
}

// findDraft looks for a non-deleted invoice of the customer carrying our metadata, created
// since the taxflow invoice was received. The list endpoint is strongly consistent (search
// is not), so a draft created a moment ago is found.
func (p *Provider) findDraft(ctx context.Context, invoiceID string, d billing.Draft) (*stripe.Invoice, error) {
	lp := &stripe.InvoiceListParams{Customer: stripe.String(d.CustomerRef)}
	if !d.ReceivedAt.IsZero() {
		lp.CreatedRange = &stripe.RangeQueryParams{GreaterThanOrEqual: d.ReceivedAt.Add(-time.Hour).Unix()}
	}
	lp.Limit = stripe.Int64(100)
	lp.Context = ctx
	for inv, err := range p.sc.V1Invoices.List(ctx, lp) {
		if err != nil {
			return nil, classify("look for an existing draft", err)
		}
		if inv.Metadata[MetadataInvoiceID] == invoiceID && inv.Status != stripe.InvoiceStatusVoid {
			return inv, nil
		}
	}
	return nil, nil
}

// WriteLines makes the draft's lines match lines. With known == nil it reads the draft
// first (a retry: an earlier attempt may have added some lines); with a known invoice it
// trusts it (a fresh draft).
func (p *Provider) WriteLines(ctx context.Context, c billing.Call, externalID string, lines []billing.Line, known *billing.Invoice) (billing.Invoice, error) {
	if len(lines) > MaxLines {
		return billing.Invoice{}, failure.NeedsPersonError(failure.ProviderStripe, "too_many_lines",
			fmt.Sprintf("Stripe allows at most %d lines on an invoice, this one has %d", MaxLines, len(lines)))
	}
	current := known
	if current == nil {
		inv, err := p.Get(ctx, externalID)
		if err != nil {
			return billing.Invoice{}, err
		}
		current = &inv
	}
	existing := map[string]billing.InvoiceLine{}
	for _, l := range current.Lines {
		if l.LineID != "" {
			existing[l.LineID] = l
		}
	}
	var add []billing.Line
	var update []billing.Line
	var updateIDs []string
	for _, l := range lines {
		ex, ok := existing[l.LineID]
		if !ok {
			add = append(add, l)
			continue
		}
		if !sameTaxes(ex.Taxes, l.Taxes) {
			update = append(update, l)
			updateIDs = append(updateIDs, ex.ID)
		}
	}
	result := *current
	if len(add) > 0 {
		params := &stripe.InvoiceAddLinesParams{}
		digest := make([]string, 0, len(add))
		for i, l := range add {
			params.Lines = append(params.Lines, addLineParams(l))
			if extra := unitAmountDecimal(l); extra != "" {
				params.AddExtra(fmt.Sprintf("lines[%d][price_data][unit_amount_decimal]", i), extra)
			}
			digest = append(digest, lineDigest(l))
		}
		params.Context = ctx
		params.SetIdempotencyKey(idempotencyKey(c, "add-lines", digest...))
		inv, err := p.sc.V1Invoices.AddLines(ctx, externalID, params)
		if err != nil {
			return billing.Invoice{}, classify("add lines", err)
		}
		if result, err = p.withAllLines(ctx, inv); err != nil {
			return billing.Invoice{}, err
		}
	}
	if len(update) > 0 {
		params := &stripe.InvoiceUpdateLinesParams{}
		digest := make([]string, 0, len(update))
		for i, l := range update {
			params.Lines = append(params.Lines, &stripe.InvoiceUpdateLinesLineParams{
				ID:         stripe.String(updateIDs[i]),
				TaxAmounts: updateTaxAmounts(l.Taxes),
			})
			digest = append(digest, updateIDs[i]+"|"+lineDigest(l))
		}
		params.Context = ctx
		params.SetIdempotencyKey(idempotencyKey(c, "update-line-taxes", digest...))
		inv, err := p.sc.V1Invoices.UpdateLines(ctx, externalID, params)
		if err != nil {
			return billing.Invoice{}, classify("update line taxes", err)
		}
		if result, err = p.withAllLines(ctx, inv); err != nil {
			return billing.Invoice{}, err
		}
	}
	return result, nil
}

// Finalize finalizes a draft. auto_advance is turned on at finalization so that Stripe goes
// on to collect (charge_automatically) or send (send_invoice) the invoice.
func (p *Provider) Finalize(ctx context.Context, c billing.Call, externalID string) (billing.Invoice, error) {
	params := &stripe.InvoiceFinalizeInvoiceParams{AutoAdvance: stripe.Bool(true)}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(c, "finalize", externalID))
	inv, err := p.sc.V1Invoices.FinalizeInvoice(ctx, externalID, params)
	if err != nil {
		// An earlier attempt may have finalized it (its answer lost): finalized means open,
		// paid or uncollectible — a void or deleted invoice is not a finalization.
		if cur, gerr := p.Get(ctx, externalID); gerr == nil {
			switch stripe.InvoiceStatus(cur.Status) {
			case stripe.InvoiceStatusOpen, stripe.InvoiceStatusPaid, stripe.InvoiceStatusUncollectible:
				return cur, nil
			}
		}
		return billing.Invoice{}, classify("finalize", err)
	}
	return p.withAllLines(ctx, inv)
}

// Void voids an open or uncollectible invoice; a void invoice is left as it is.
func (p *Provider) Void(ctx context.Context, c billing.Call, externalID string) (billing.Invoice, error) {
	params := &stripe.InvoiceVoidInvoiceParams{}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(c, "void", externalID))
	inv, err := p.sc.V1Invoices.VoidInvoice(ctx, externalID, params)
	if err != nil {
		if cur, gerr := p.Get(ctx, externalID); gerr == nil {
			switch stripe.InvoiceStatus(cur.Status) {
			case stripe.InvoiceStatusVoid:
				return cur, nil
			case stripe.InvoiceStatusPaid:
				// Stripe's rule: a paid invoice cannot be voided.
				return billing.Invoice{}, &failure.Error{Provider: failure.ProviderStripe, Class: failure.NeedsPerson, Code: billing.CodeInvoicePaid,
					Message: fmt.Sprintf("Stripe invoice %s is paid and cannot be voided: issue a credit note instead", externalID), Err: err}
			}
		}
		return billing.Invoice{}, classify("void", err)
	}
	return p.withAllLines(ctx, inv)
}

// Get reads the invoice with all its lines.
func (p *Provider) Get(ctx context.Context, externalID string) (billing.Invoice, error) {
	params := &stripe.InvoiceRetrieveParams{}
	params.Context = ctx
	inv, err := p.sc.V1Invoices.Retrieve(ctx, externalID, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == 404 && se.Code == stripe.ErrorCodeResourceMissing {
			// Stripe deletes drafts outright: a missing invoice taxflow created was deleted.
			return billing.Invoice{ID: externalID, Status: StatusDeleted}, nil
		}
		return billing.Invoice{}, classify("read invoice", err)
	}
	if inv.Deleted {
		return billing.Invoice{ID: externalID, Status: StatusDeleted}, nil
	}
	return p.withAllLines(ctx, inv)
}

// StatusDeleted is the status Get reports for a deleted draft.
const StatusDeleted = "deleted"

// DeleteDraft deletes a draft; a draft already gone is fine.
func (p *Provider) DeleteDraft(ctx context.Context, c billing.Call, externalID string) error {
	params := &stripe.InvoiceDeleteParams{}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(c, "delete-draft", externalID))
	if _, err := p.sc.V1Invoices.Delete(ctx, externalID, params); err != nil {
		if cur, gerr := p.Get(ctx, externalID); gerr == nil && cur.Status == StatusDeleted {
			return nil
		}
		return classify("delete draft", err)
	}
	return nil
}

// DisableAutomaticTax turns automatic tax off on a draft, so that it can be finalized
// without the tax the provider never delivered.
func (p *Provider) DisableAutomaticTax(ctx context.Context, c billing.Call, externalID string) (billing.Invoice, error) {
	params := &stripe.InvoiceUpdateParams{AutomaticTax: &stripe.InvoiceUpdateAutomaticTaxParams{Enabled: stripe.Bool(false)}}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(c, "disable-automatic-tax", externalID))
	inv, err := p.sc.V1Invoices.Update(ctx, externalID, params)
	if err != nil {
		return billing.Invoice{}, classify("disable automatic tax", err)
	}
	return p.withAllLines(ctx, inv)
}

// withAllLines converts inv, reading the remaining pages of its lines when the embedded
// list (Stripe embeds the first 10) has more.
func (p *Provider) withAllLines(ctx context.Context, inv *stripe.Invoice) (billing.Invoice, error) {
	out := toInvoice(inv)
	if inv.Lines == nil || !inv.Lines.HasMore {
		return out, nil
	}
	lp := &stripe.InvoiceListLinesParams{Invoice: stripe.String(inv.ID)}
	lp.Limit = stripe.Int64(100)
	lp.Context = ctx
	out.Lines = out.Lines[:0]
	for li, err := range p.sc.V1Invoices.ListLines(ctx, lp) {
		if err != nil {
			return billing.Invoice{}, classify("list lines", err)
		}
		out.Lines = append(out.Lines, toLine(li))
	}
	return out, nil
}

func toInvoice(inv *stripe.Invoice) billing.Invoice {
	out := billing.Invoice{
		ID:       inv.ID,
		Number:   inv.Number,
		Status:   string(inv.Status),
		Subtotal: inv.Subtotal,
		Total:    inv.Total,
	}
	for _, t := range inv.TotalTaxes {
		out.Tax += t.Amount
	}
	if inv.StatusTransitions != nil && inv.StatusTransitions.FinalizedAt > 0 {
		out.FinalizedAt = time.Unix(inv.StatusTransitions.FinalizedAt, 0).UTC()
	}
	if inv.AutomaticTax != nil && inv.AutomaticTax.Enabled {
		out.AutomaticTax = string(inv.AutomaticTax.Status)
		if out.AutomaticTax == "" {
			out.AutomaticTax = "pending"
		}
	}
	if inv.Lines != nil {
		for _, li := range inv.Lines.Data {
			out.Lines = append(out.Lines, toLine(li))
		}
	}
	return out
}

func toLine(li *stripe.InvoiceLineItem) billing.InvoiceLine {
	l := billing.InvoiceLine{ID: li.ID, LineID: li.Metadata[MetadataLineID], Amount: li.Amount}
	if li.Parent != nil && li.Parent.InvoiceItemDetails != nil {
		l.ItemID = li.Parent.InvoiceItemDetails.InvoiceItem
	}
	for _, t := range li.Taxes {
		l.Tax += t.Amount
		l.Taxes = append(l.Taxes, t.Amount)
		d := billing.TaxDetail{Amount: t.Amount, TaxableAmount: t.TaxableAmount,
			TaxabilityReason: string(t.TaxabilityReason), Inclusive: t.TaxBehavior == stripe.InvoiceLineItemTaxTaxBehaviorInclusive}
		if t.TaxRateDetails != nil {
			d.TaxRateID = t.TaxRateDetails.TaxRate
		}
		l.TaxDetails = append(l.TaxDetails, d)
	}
	return l
}

// sameTaxes compares the tax amounts on a Stripe line with the ones taxflow wants there.
func sameTaxes(have []int64, want []billing.LineTax) bool {
	var wantNonZero, haveNonZero []int64
	for _, t := range want {
		if t.Amount != 0 {
			wantNonZero = append(wantNonZero, t.Amount)
		}
	}
	for _, a := range have {
		if a != 0 {
			haveNonZero = append(haveNonZero, a)
		}
	}
	if len(wantNonZero) != len(haveNonZero) {
		return false
	}
	sort.Slice(wantNonZero, func(i, j int) bool { return wantNonZero[i] < wantNonZero[j] })
	sort.Slice(haveNonZero, func(i, j int) bool { return haveNonZero[i] < haveNonZero[j] })
	for i := range wantNonZero {
		if wantNonZero[i] != haveNonZero[i] {
			return false
		}
	}
	return true
}

func lineDigest(l billing.Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%d|%t|%t|%s|%s|%s|%d|%d", l.LineID, l.Description, l.Amount, l.TaxInclusive, l.PlainAmount, l.Quantity.Decimal.String(), l.UnitPrice.Decimal.String(), l.ProductRef, l.PeriodStart.Unix(), l.PeriodEnd.Unix())
	for _, t := range l.Taxes {
		// Every parameter sent, so that a change of any of them is a new key, never an
		// idempotency_error.
		fmt.Fprintf(&b, "|%d/%d/%s/%s/%t/%s/%s/%s/%s/%s/%s", t.Amount, t.TaxableAmount, t.TaxabilityReason, t.Percentage.String(),
			t.Inclusive, t.DisplayName, t.Jurisdiction, t.JurisdictionLevel, t.TaxType, t.Country, t.State)
	}
	return b.String()
}

// stripeQuantity returns the integer quantity Stripe can show for l and the exact unit
// amount to go with it, or ok=false when Stripe cannot represent the line as quantity ×
// unit price (decimal quantity, a unit price that does not divide, a credit, or no mapped
// Stripe product for a price): the line is then billed as its amount with quantity 1.
func stripeQuantity(l billing.Line) (qty int64, unitAmount decimal.Decimal, ok bool) {
	if l.ProductRef == "" || l.Amount < 0 {
		return 0, decimal.Zero, false
	}
	if l.PlainAmount {
		return 1, decimal.NewFromInt(l.Amount), true
	}
	if !l.Quantity.Valid || !l.Quantity.Decimal.IsInteger() || l.Quantity.Decimal.Sign() <= 0 {
		return 1, decimal.NewFromInt(l.Amount), true
	}
	q := l.Quantity.Decimal
	unit := decimal.NewFromInt(l.Amount).DivRound(q, 12)
	if !unit.Mul(q).Equal(decimal.NewFromInt(l.Amount)) {
		return 1, decimal.NewFromInt(l.Amount), true
	}
	return q.IntPart(), unit, true
}

// unitAmountDecimal is the exact unit amount sent as a raw form value: stripe-go types it
// float64, and money is never a float in taxflow.
func unitAmountDecimal(l billing.Line) string {
	if _, unit, ok := stripeQuantity(l); ok {
		return unit.String()
	}
	return ""
}

func addLineParams(l billing.Line) *stripe.InvoiceAddLinesLineParams {
	p := &stripe.InvoiceAddLinesLineParams{
		Description: stripe.String(l.Description),
		Metadata:    map[string]string{MetadataLineID: l.LineID},
		TaxAmounts:  addTaxAmounts(l.Taxes),
	}
	if !l.PeriodStart.IsZero() && !l.PeriodEnd.IsZero() {
		p.Period = &stripe.InvoiceAddLinesLinePeriodParams{Start: stripe.Int64(l.PeriodStart.Unix()), End: stripe.Int64(l.PeriodEnd.Unix())}
	}
	if qty, _, ok := stripeQuantity(l); ok {
		// The unit amount goes in as a raw decimal string (see unitAmountDecimal).
		p.PriceData = &stripe.InvoiceAddLinesLinePriceDataParams{
			Currency:    stripe.String(strings.ToLower(l.Currency)),
			Product:     stripe.String(l.ProductRef),
			TaxBehavior: stripe.String(taxBehavior(l)),
		}
		p.Quantity = stripe.Int64(qty)
	} else {
		p.Amount = stripe.Int64(l.Amount)
	}
	return p
}

func taxBehavior(l billing.Line) string {
	if l.TaxInclusive {
		return "inclusive"
	}
	return "exclusive"
}

func addTaxAmounts(taxes []billing.LineTax) []*stripe.InvoiceAddLinesLineTaxAmountParams {
	out := make([]*stripe.InvoiceAddLinesLineTaxAmountParams, 0, len(taxes))
	for _, t := range taxes {
		out = append(out, &stripe.InvoiceAddLinesLineTaxAmountParams{
			Amount:           stripe.Int64(t.Amount),
			TaxableAmount:    stripe.Int64(t.TaxableAmount),
			TaxabilityReason: nonEmpty(t.TaxabilityReason),
			TaxRateData:      (*stripe.InvoiceAddLinesLineTaxAmountTaxRateDataParams)(rateData(t)),
		})
	}
	return out
}

func updateTaxAmounts(taxes []billing.LineTax) []*stripe.InvoiceUpdateLinesLineTaxAmountParams {
	out := make([]*stripe.InvoiceUpdateLinesLineTaxAmountParams, 0, len(taxes))
	for _, t := range taxes {
		out = append(out, &stripe.InvoiceUpdateLinesLineTaxAmountParams{
			Amount:           stripe.Int64(t.Amount),
			TaxableAmount:    stripe.Int64(t.TaxableAmount),
			TaxabilityReason: nonEmpty(t.TaxabilityReason),
			TaxRateData:      (*stripe.InvoiceUpdateLinesLineTaxAmountTaxRateDataParams)(rateData(t)),
		})
	}
	return out
}

// rateData is the display data of a tax amount. Stripe types the percentage float64; it is
// a statutory rate for display (at most 4 decimal places), never an amount: amounts are the
// integers above.
func rateData(t billing.LineTax) *stripe.InvoiceAddLinesLineTaxAmountTaxRateDataParams {
	pct := t.Percentage.Round(4)
	name := t.DisplayName
	if name == "" {
		name = "Tax"
	}
	return &stripe.InvoiceAddLinesLineTaxAmountTaxRateDataParams{
		// Stripe's limits: 100 characters for the name, 200 for the jurisdiction.
		DisplayName:       stripe.String(cutRunes(name, 100)),
		Inclusive:         stripe.Bool(t.Inclusive),
		Percentage:        stripe.Float64(pct.InexactFloat64()),
		Jurisdiction:      nonEmpty(cutRunes(t.Jurisdiction, 200)),
		JurisdictionLevel: nonEmpty(t.JurisdictionLevel),
		TaxType:           nonEmpty(t.TaxType),
		Country:           nonEmpty(t.Country),
		State:             nonEmpty(t.State),
	}
}

// cutRunes cuts s to at most n characters, never inside a UTF-8 sequence.
func cutRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return stripe.String(s)
}

// MetadataCreditNoteID is the metadata key naming the taxflow credit note on a Stripe
// credit note.
const MetadataCreditNoteID = "taxflow_credit_note_id"

// TaxRate reads a tax rate (to match a credit note's tax to the invoice's rates).
func (p *Provider) TaxRate(ctx context.Context, id string) (billing.TaxRate, error) {
	params := &stripe.TaxRateRetrieveParams{}
	params.Context = ctx
	tr, err := p.sc.V1TaxRates.Retrieve(ctx, id, params)
	if err != nil {
		return billing.TaxRate{}, classify("read tax rate", err)
	}
	return billing.TaxRate{ID: tr.ID, DisplayName: tr.DisplayName, Jurisdiction: tr.Jurisdiction, Inclusive: tr.Inclusive}, nil
}

// CreateCreditNote issues a credit note on a finalized invoice. A retried call first looks
// among the invoice's credit notes for the one an earlier attempt issued (metadata).
func (p *Provider) CreateCreditNote(ctx context.Context, c billing.Call, externalID, creditNoteID string, cn billing.CreditNote) (billing.IssuedCreditNote, error) {
	if c.Retried {
		lp := &stripe.CreditNoteListParams{Invoice: stripe.String(externalID)}
		lp.Limit = stripe.Int64(100)
		lp.Context = ctx
		for note, err := range p.sc.V1CreditNotes.List(ctx, lp) {
			if err != nil {
				return billing.IssuedCreditNote{}, classify("look for an existing credit note", err)
			}
			if note.Metadata[MetadataCreditNoteID] == creditNoteID {
				return issued(note), nil
			}
		}
	}
	params := &stripe.CreditNoteCreateParams{
		Invoice:  stripe.String(externalID),
		Metadata: map[string]string{MetadataInvoiceID: c.InvoiceID, MetadataCreditNoteID: creditNoteID},
	}
	if cn.Reason != "" {
		params.Reason = stripe.String(cn.Reason)
	}
	if cn.Memo != "" {
		params.Memo = stripe.String(cn.Memo)
	}
	digest := []string{creditNoteID, cn.Reason, cn.Memo, strconv.FormatBool(cn.Paid)}
	var total int64
	for _, l := range cn.Lines {
		lp := &stripe.CreditNoteCreateLineParams{
			Type:            stripe.String("invoice_line_item"),
			InvoiceLineItem: stripe.String(l.InvoiceLineID),
			Amount:          stripe.Int64(l.Amount),
			TaxAmounts:      []*stripe.CreditNoteCreateLineTaxAmountParams{},
		}
		total += l.Amount
		d := fmt.Sprintf("%s:%d", l.InvoiceLineID, l.Amount)
		for _, t := range l.Taxes {
			lp.TaxAmounts = append(lp.TaxAmounts, &stripe.CreditNoteCreateLineTaxAmountParams{
				Amount: stripe.Int64(t.Amount), TaxableAmount: stripe.Int64(t.TaxableAmount), TaxRate: stripe.String(t.TaxRateID),
			})
			total += t.Amount
			d += fmt.Sprintf("/%d:%d:%s", t.Amount, t.TaxableAmount, t.TaxRateID)
		}
		params.Lines = append(params.Lines, lp)
		digest = append(digest, d)
	}
	if cn.Paid {
		// Stripe's rule for a paid invoice: the credit must say where the money goes; taxflow
		// credits the customer's balance (a refund is the billing team's decision in Stripe).
		params.CreditAmount = stripe.Int64(total)
	}
	params.Context = ctx
	params.SetIdempotencyKey(idempotencyKey(c, "credit-note", digest...))
	note, err := p.sc.V1CreditNotes.Create(ctx, params)
	if err != nil {
		return billing.IssuedCreditNote{}, classify("create credit note", err)
	}
	return issued(note), nil
}

func issued(note *stripe.CreditNote) billing.IssuedCreditNote {
	out := billing.IssuedCreditNote{ID: note.ID, Total: note.Total}
	for _, t := range note.TotalTaxes {
		out.Tax += t.Amount
	}
	return out
}

// DisputedInvoice follows a dispute to its invoice the way the basil API requires: the
// dispute names a payment intent, and the invoice payments list links payment intents to
// invoices (charges and payment intents no longer name their invoice).
func (p *Provider) DisputedInvoice(ctx context.Context, disputeID string) (string, string, error) {
	params := &stripe.DisputeRetrieveParams{}
	params.Context = ctx
	d, err := p.sc.V1Disputes.Retrieve(ctx, disputeID, params)
	if err != nil {
		return "", "", classify("read dispute", err)
	}
	if d.PaymentIntent == nil || d.PaymentIntent.ID == "" {
		return "", string(d.Status), nil
	}
	lp := &stripe.InvoicePaymentListParams{Payment: &stripe.InvoicePaymentListPaymentParams{
		Type: stripe.String("payment_intent"), PaymentIntent: stripe.String(d.PaymentIntent.ID),
	}}
	lp.Context = ctx
	for ip, err := range p.sc.V1InvoicePayments.List(ctx, lp) {
		if err != nil {
			return "", "", classify("list invoice payments", err)
		}
		if ip.Invoice != nil && ip.Invoice.ID != "" {
			return ip.Invoice.ID, string(d.Status), nil
		}
	}
	return "", string(d.Status), nil
}
