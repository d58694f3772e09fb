// Package estimate answers tax estimates — current usage, a one-off fee — with the tax
// engine's ephemeral calculation: nothing is committed or filed. Identical requests within
// 24 hours are answered from a cache in Postgres (an identical request includes the
// customer, its connection and its products as they are now: a changed address is a new
// estimate).
package estimate

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

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/failure"
	"github.com/taxflow/taxflow/internal/invoicing"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/tax"
)

// CacheFor is how long an estimate is reused for an identical request.
const CacheFor = 24 * time.Hour

// Line is one line to estimate.
type Line struct {
	ID           string              `json:"id"`
	ProductID    string              `json:"product_id"`
	Amount       int64               `json:"amount"`
	Quantity     decimal.NullDecimal `json:"quantity"`
	TaxInclusive bool                `json:"tax_inclusive,omitempty"`
}

// Request is an estimate request.
type Request struct {
	CustomerID string    `json:"customer_id"`
	Currency   string    `json:"currency"`
	Date       time.Time `json:"date"`
	Lines      []Line    `json:"lines"`
}

// Answer is an estimate.
type Answer struct {
	Currency     string       `json:"currency"`
	Subtotal     int64        `json:"subtotal"`
	Tax          int64        `json:"tax"`
	Total        int64        `json:"total"`
	Lines        []LineAnswer `json:"lines"`
	CalculatedAt time.Time    `json:"calculated_at"`
	Cached       bool         `json:"cached"`
}

// LineAnswer is one line's estimated tax.
type LineAnswer struct {
	ID           string               `json:"id"`
	Amount       int64                `json:"amount"`
	Tax          int64                `json:"tax"`
	TaxBreakdown []tax.BreakdownEntry `json:"tax_breakdown"`
}

// Estimator computes estimates.
type Estimator struct {
	Store     *store.Store
	Secrets   *secretbox.Keyring
	TaxEngine activities.TaxEngineFactory
	Now       func() time.Time
}

// ErrNotFound: the customer or a product does not exist (the message names it).
var ErrNotFound = errors.New("not found")

// Estimate answers req, from the cache when an identical request was answered within CacheFor.
func (e *Estimator) Estimate(ctx context.Context, req Request) (Answer, error) {
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	q := e.Store.Queries
	cust, err := q.GetCustomer(ctx, req.CustomerID)
	if store.IsNotFound(err) {
		return Answer{}, fmt.Errorf("%w: customer %q", ErrNotFound, req.CustomerID)
	} else if err != nil {
		return Answer{}, err
	}
	var conn sqldb.AnrokConnection
	if cust.AnrokConnectionID != nil {
		conn, err = q.GetAnrokConnection(ctx, *cust.AnrokConnectionID)
	} else {
		conn, err = q.GetDefaultAnrokConnection(ctx)
	}
	if store.IsNotFound(err) {
		return Answer{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeAnrokConnectionMissing, "no Anrok connection to estimate with: create one with PUT /v1/anrok-connections/{id}")
	} else if err != nil {
		return Answer{}, err
	}
	ids := make([]string, 0, len(req.Lines))
	for _, l := range req.Lines {
		ids = append(ids, l.ProductID)
	}
	products, err := q.GetProducts(ctx, ids)
	if err != nil {
		return Answer{}, err
	}
	byID := map[string]sqldb.Product{}
	for _, p := range products {
		byID[p.ID] = p
	}
	lines := make([]sqldb.InvoiceLine, 0, len(req.Lines))
	for _, l := range req.Lines {
		if _, ok := byID[l.ProductID]; !ok {
			return Answer{}, fmt.Errorf("%w: product %q", ErrNotFound, l.ProductID)
		}
		lines = append(lines, sqldb.InvoiceLine{ID: l.ID, ProductID: l.ProductID, Amount: l.Amount, Quantity: l.Quantity, TaxInclusive: l.TaxInclusive})
	}

	// The cache key: the request and every record it was computed from, as they are now.
	key := sha256.New()
	b, _ := json.Marshal(req)
	key.Write(b)
	fmt.Fprintf(key, "|%s|%d|%s|%d", cust.ID, cust.UpdatedAt.UnixNano(), conn.ID, conn.UpdatedAt.UnixNano())
	for _, p := range products {
		fmt.Fprintf(key, "|%s|%d", p.ID, p.UpdatedAt.UnixNano())
	}
	hash := hex.EncodeToString(key.Sum(nil))
	if cached, err := q.GetTaxEstimate(ctx, sqldb.GetTaxEstimateParams{RequestHash: hash, FreshAfter: now.Add(-CacheFor)}); err == nil {
		var ans Answer
		if err := json.Unmarshal(cached.Response, &ans); err == nil {
			ans.Cached = true
			return ans, nil
		}
	} else if !store.IsNotFound(err) {
		return Answer{}, err
	}

	var shipping, billingAddr *tax.Address
	for raw, dst := range map[*json.RawMessage]**tax.Address{&cust.ShippingAddress: &shipping, &cust.BillingAddress: &billingAddr} {
		if len(*raw) > 0 && string(*raw) != "null" {
			var a tax.Address
			if err := json.Unmarshal(*raw, &a); err != nil {
				return Answer{}, err
			}
			*dst = &a
		}
	}
	addr, _, ok := invoicing.ChooseAddress(shipping, billingAddr)
	if !ok {
		return Answer{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeCustomerAddressMissing,
			fmt.Sprintf("customer %s has no usable address: set one with PUT /v1/customers/%s", cust.ID, cust.ID))
	}
	mapping := invoicing.MapProducts(lines, byID, deref(conn.FallbackProductID))
	if len(mapping.Unmapped) > 0 {
		return Answer{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeProductNotMapped,
			fmt.Sprintf("products %s have no Anrok product and the connection no fallback: map them with PUT /v1/products/{id}", strings.Join(mapping.Unmapped, ", ")))
	}
	var taxIDs []tax.TaxID
	if len(cust.TaxIds) > 0 {
		_ = json.Unmarshal(cust.TaxIds, &taxIDs)
	}
	date := req.Date
	if date.IsZero() {
		date = now
	}
	treq := tax.Request{
		Currency:           req.Currency,
		Customer:           tax.Customer{ID: invoicing.AnrokCustomerID(cust, conn.TransactionPrefix), Name: cust.Name, Address: addr, TaxIDs: taxIDs},
		AccountingTime:     date,
		AccountingTimeZone: deref(conn.AccountingTimeZone),
		TaxDate:            invoicing.TaxDate(date, now),
	}
	var subtotal, exclusive int64
	for _, l := range lines {
		treq.Lines = append(treq.Lines, tax.Line{ID: l.ID, ProductCode: mapping.ByLine[l.ID], Amount: l.Amount, Quantity: l.Quantity, TaxIncluded: l.TaxInclusive})
		subtotal += l.Amount
	}
	apiKey, err := e.Secrets.Open(conn.ApiKeySealed, activities.SecretPlace("anrok_connections", conn.ID, "api_key"))
	if err != nil {
		return Answer{}, failure.NeedsPersonError(failure.ProviderTaxflow, invoicing.CodeSecretUnreadable, "the Anrok connection's API key cannot be decrypted: put it again")
	}
	res, err := e.TaxEngine(conn, apiKey).Calculate(ctx, treq)
	if err != nil {
		return Answer{}, err
	}
	if err := res.Allocate(); err != nil {
		return Answer{}, failure.NeedsPersonError(failure.ProviderAnrok, "tax_answer_unusable", err.Error())
	}
	ans := Answer{Currency: req.Currency, Subtotal: subtotal, Tax: res.Tax, CalculatedAt: now.UTC()}
	inclusive := map[string]bool{}
	for _, l := range lines {
		inclusive[l.ID] = l.TaxInclusive
	}
	for _, lr := range res.Lines {
		if !inclusive[lr.LineID] {
			exclusive += lr.Tax
		}
		amount := int64(0)
		for _, l := range lines {
			if l.ID == lr.LineID {
				amount = l.Amount
			}
		}
		ans.Lines = append(ans.Lines, LineAnswer{ID: lr.LineID, Amount: amount, Tax: lr.Tax, TaxBreakdown: lr.Breakdown})
	}
	ans.Total = subtotal + exclusive
	stored, _ := json.Marshal(ans)
	if err := q.PutTaxEstimate(ctx, sqldb.PutTaxEstimateParams{RequestHash: hash, Response: stored}); err != nil {
		return Answer{}, err
	}
	_ = q.DeleteStaleTaxEstimates(ctx, now.Add(-CacheFor))
	return ans, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
