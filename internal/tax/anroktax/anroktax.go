// Package anroktax is the Anrok implementation of tax.Engine, on the Anrok client
// (internal/anrok). It owns the translation between taxflow's tax request and Anrok's
// transaction body (addresses without empty strings, tax ids as euVrn/genericVatNumber,
// accounting time and zone, the tax date) and back (per-line jurisdictions with their
// taxes or not-taxed reasons, kept verbatim, with the jurisdiction level and tax type
// Stripe's tax_amounts need).
package anroktax

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/tax"
)

// Engine computes tax with Anrok.
type Engine struct {
	client *anrok.Client
	now    func() time.Time
}

var _ tax.Engine = (*Engine)(nil)

// New wraps an Anrok client.
func New(c *anrok.Client) *Engine { return &Engine{client: c, now: time.Now} }

// Name implements tax.Engine.
func (e *Engine) Name() string { return "anrok" }

// Calculate implements tax.Engine with createEphemeral: nothing is recorded.
func (e *Engine) Calculate(ctx context.Context, req tax.Request) (tax.Result, error) {
	resp, err := e.client.CreateEphemeral(ctx, toTransaction(req, false))
	if err != nil {
		return tax.Result{}, err
	}
	return e.toResult(req, resp), nil
}

// Commit implements tax.Engine with createOrUpdate under req.TransactionID.
func (e *Engine) Commit(ctx context.Context, req tax.Request) (tax.Result, error) {
	if req.TransactionID == "" {
		return tax.Result{}, errors.New("anroktax: Commit needs a transaction id")
	}
	resp, err := e.client.CreateOrUpdate(ctx, toTransaction(req, true))
	if err != nil {
		return tax.Result{}, wrapKnown(err)
	}
	res := e.toResult(req, resp)
	res.TransactionID = req.TransactionID
	res.TransactionVersion = resp.Version
	return res, nil
}

// Void implements tax.Engine.
func (e *Engine) Void(ctx context.Context, transactionID string, expectedVersion int64) error {
	var v *int64
	if expectedVersion > 0 {
		v = &expectedVersion
	}
	return wrapKnown(e.client.Void(ctx, transactionID, v))
}

// Negate implements tax.Engine with createNegation.
func (e *Engine) Negate(ctx context.Context, originalTransactionID, newTransactionID string, expectedVersion int64) error {
	req := anrok.NegationRequest{OriginalTransactionID: originalTransactionID, NewTransactionID: newTransactionID}
	if expectedVersion > 0 {
		req.OriginalTransactionExpectedVersion = &expectedVersion
	}
	return wrapKnown(e.client.CreateNegation(ctx, req))
}

// wrapKnown marks the Anrok conflicts the workflow reacts to with tax's sentinel errors.
func wrapKnown(err error) error {
	fe, ok := failure.As(err)
	if !ok {
		return err
	}
	switch fe.Code {
	case anrok.CodeTransactionFrozenForFiling:
		return fmt.Errorf("%w: %w", tax.ErrTransactionFrozen, err)
	case anrok.CodeDuplicateTransactionID:
		return fmt.Errorf("%w: %w", tax.ErrDuplicateTransaction, err)
	}
	return err
}

func toTransaction(req tax.Request, withID bool) anrok.TransactionRequest {
	addr := req.Customer.Address
	line1 := addr.Line1
	if addr.Line2 != "" {
		line1 = strings.TrimSpace(line1 + ", " + addr.Line2)
	}
	tr := anrok.TransactionRequest{
		CurrencyCode: strings.ToUpper(req.Currency),
		CustomerAddress: anrok.Address{
			Country: addr.Country, Line1: line1, City: addr.City, Region: addr.Region, PostalCode: addr.PostalCode,
		},
		CustomerID:     req.Customer.ID,
		CustomerName:   req.Customer.Name,
		CustomerTaxIDs: taxIDs(req.Customer.TaxIDs),
	}
	if withID {
		tr.ID = req.TransactionID
	}
	if !req.AccountingTime.IsZero() {
		tr.AccountingTime = req.AccountingTime.UTC().Format(time.RFC3339)
		tr.AccountingTimeZone = req.AccountingTimeZone
	}
	if !req.TaxDate.IsZero() {
		tr.TaxDate = req.TaxDate.UTC().Format(time.DateOnly)
	}
	for _, l := range req.Lines {
		li := anrok.LineItem{ID: l.ID, ProductExternalID: l.ProductCode, Amount: l.Amount, IsTaxIncludedInAmount: l.TaxIncluded}
		if l.Quantity.Valid {
			li.Quantity = l.Quantity.Decimal.String()
		}
		tr.LineItems = append(tr.LineItems, li)
	}
	return tr
}

// vatLikeTaxIDs are Stripe tax id types that are VAT/GST registrations (what Anrok uses for
// reverse charge); others (a US EIN, a personal id) are not sent.
var vatLikeTaxIDs = map[string]bool{
	"au_abn": true, "nz_gst": true, "ca_gst_hst": true, "in_gst": true, "sg_gst": true,
	"my_sst": true, "ae_trn": true, "jp_trn": true, "ch_uid": true, "li_uid": true, "no_voec": true,
}

func taxIDs(ids []tax.TaxID) []anrok.TaxID {
	var out []anrok.TaxID
	for _, id := range ids {
		switch {
		case id.Type == "eu_vat":
			out = append(out, anrok.TaxID{Type: anrok.TaxIDTypeEUVRN, Value: id.Value})
		case strings.HasSuffix(id.Type, "_vat") || vatLikeTaxIDs[id.Type]:
			out = append(out, anrok.TaxID{Type: anrok.TaxIDTypeGenericVAT, Value: id.Value})
		}
	}
	return out
}

func (e *Engine) toResult(req tax.Request, resp *anrok.TaxResponse) tax.Result {
	country := strings.ToUpper(req.Customer.Address.Country)
	// Stripe's tax_rate_data.state is an ISO 3166-2 subdivision code ("CO"); a region
	// written out ("Colorado") is left off rather than refused by Stripe.
	state := ""
	if region := strings.ToUpper(strings.TrimSpace(req.Customer.Address.Region)); (country == "US" || country == "CA") && isSubdivisionCode(region) {
		state = region
	}
	res := tax.Result{Tax: resp.TaxAmountToCollect, PreTaxAmount: resp.PreTaxAmount, CalculatedAt: e.now().UTC()}
	for _, l := range resp.LineItems {
		lr := tax.LineResult{LineID: l.ID, Tax: l.TaxAmountToCollect, PreTaxAmount: l.PreTaxAmount, Raw: l.Raw}
		for i, j := range l.Jurises {
			base := tax.BreakdownEntry{
				Jurisdiction: j.Name, Level: jurisdictionLevel(j.Name, country, i),
				TaxType: taxType(country), Country: country, State: state,
			}
			if j.NotTaxedReason != nil {
				entry := base
				entry.NotTaxedReason = j.NotTaxedReason.Type
				if j.NotTaxedReason.Reason != nil {
					entry.ExemptReason = j.NotTaxedReason.Reason.Type
				}
				lr.Breakdown = append(lr.Breakdown, entry)
				continue
			}
			for _, t := range j.Taxes {
				entry := base
				entry.TaxName, entry.Rate, entry.TaxableAmount, entry.TaxAmount = t.TaxName, t.TaxRate, t.TaxableAmount, t.TaxAmount
				lr.Breakdown = append(lr.Breakdown, entry)
			}
		}
		res.Lines = append(res.Lines, lr)
	}
	return res
}

func isSubdivisionCode(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// taxType is Stripe's tax_type for taxes in a country.
func taxType(country string) string {
	switch country {
	case "US":
		return "sales_tax"
	case "CA", "AU", "NZ", "SG", "IN", "MY":
		return "gst"
	case "JP":
		return "jct"
	}
	return "vat"
}

// jurisdictionLevel infers Stripe's jurisdiction_level from Anrok's jurisdiction name, which
// is all Anrok returns: US states by name, "(local)" jurisdictions as cities, counties and
// special districts by their names; elsewhere the first jurisdiction is the country.
func jurisdictionLevel(name, country string, position int) string {
	lower := strings.ToLower(name)
	switch {
	case country == "US" && usStates[lower]:
		return "state"
	case strings.Contains(lower, "county"):
		return "county"
	case strings.Contains(lower, "district") || strings.Contains(lower, "transit") || strings.Contains(lower, "special"):
		return "district"
	case strings.Contains(lower, "(local)") || strings.Contains(lower, "city"):
		return "city"
	case country != "US" && position == 0:
		return "country"
	case country == "CA":
		return "state"
	}
	return "multiple"
}

var usStates = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range []string{"Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
		"Delaware", "District of Columbia", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
		"Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota",
		"Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico",
		"New York", "North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island",
		"South Carolina", "South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington",
		"West Virginia", "Wisconsin", "Wyoming", "Puerto Rico"} {
		m[strings.ToLower(s)] = true
	}
	return m
}()
