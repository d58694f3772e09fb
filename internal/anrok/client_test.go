package anrok_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/taxflow/taxflow/internal/anrok"
	"github.com/taxflow/taxflow/internal/anroksim"
	"github.com/taxflow/taxflow/internal/failure"
)

// simNow pins the simulator's clock, so tax-date windows are deterministic.
var simNow = time.Date(2024, 6, 15, 12, 0, 0, 0, time.UTC)

const testKey = "sk_live/sa_123/secret.abcdef0123456789"

// captured records what reached the server.
type captured struct {
	mu       sync.Mutex
	requests []capturedRequest
}

type capturedRequest struct {
	path   string
	header http.Header
	body   []byte
}

func (c *captured) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.requests = append(c.requests, capturedRequest{path: r.URL.EscapedPath(), header: r.Header.Clone(), body: body})
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

func (c *captured) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.requests)
}

func (c *captured) last(t *testing.T) capturedRequest {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.NotEmpty(t, c.requests, "no request reached the server")
	return c.requests[len(c.requests)-1]
}

type env struct {
	client *anrok.Client
	sim    *anroksim.Server
	seen   *captured
	url    string
}

// newEnv runs the client against a simulator behind an httptest.Server.
func newEnv(t *testing.T, opts anroksim.Options, configure ...func(*anrok.Config)) env {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return simNow }
	}
	sim := anroksim.New(opts)
	seen := &captured{}
	srv := httptest.NewServer(seen.wrap(sim))
	t.Cleanup(srv.Close)
	cfg := anrok.Config{BaseURL: srv.URL, APIKey: testKey}
	for _, f := range configure {
		f(&cfg)
	}
	return env{client: anrok.New(cfg), sim: sim, seen: seen, url: srv.URL}
}

// stubEnv runs the client against a handler that answers like a misbehaving Anrok.
func stubEnv(t *testing.T, h http.HandlerFunc) *anrok.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return anrok.New(anrok.Config{BaseURL: srv.URL, APIKey: testKey})
}

func denver() anrok.Address {
	return anrok.Address{Line1: "1450 Cherokee St", City: "Denver", Region: "CO", PostalCode: "80204", Country: "US"}
}

func denverSaaS(amount int64) anrok.TransactionRequest {
	return anrok.TransactionRequest{
		LineItems:       []anrok.LineItem{{ID: "item-1", ProductExternalID: "saas-product-1", Amount: amount}},
		CurrencyCode:    "USD",
		CustomerAddress: denver(),
	}
}

// failed asserts err is a *failure.Error from Anrok and returns it.
func failed(t *testing.T, err error) *failure.Error {
	t.Helper()
	require.Error(t, err)
	fe, ok := failure.As(err)
	require.True(t, ok, "not a *failure.Error: %v", err)
	assert.Equal(t, failure.ProviderAnrok, fe.Provider)
	assert.NotContains(t, err.Error(), testKey, "the API key leaked into an error")
	return fe
}

func TestCreateEphemeralDecodesAnroksDecimalStringsExactly(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	resp, err := e.client.CreateEphemeral(context.Background(), denverSaaS(15000))
	require.NoError(t, err)

	assert.EqualValues(t, 722, resp.TaxAmountToCollect)
	assert.EqualValues(t, 0, resp.Version)
	assert.Equal(t, "15000", resp.PreTaxAmount.String())
	require.Len(t, resp.LineItems, 1)
	l := resp.LineItems[0]
	assert.Equal(t, "item-1", l.ID)
	assert.EqualValues(t, 722, l.TaxAmountToCollect)
	require.Len(t, l.Jurises, 2)

	co := l.Jurises[0]
	assert.Equal(t, "Colorado", co.Name)
	assert.Nil(t, co.Taxes)
	require.NotNil(t, co.NotTaxedReason)
	assert.Equal(t, anrok.NotTaxedProductNotTaxed, co.NotTaxedReason.Type)

	den := l.Jurises[1]
	assert.Nil(t, den.NotTaxedReason)
	require.Len(t, den.Taxes, 1)
	tax := den.Taxes[0]
	assert.Equal(t, "Tax", tax.TaxName)
	assert.True(t, tax.TaxAmount.Equal(decimal.RequireFromString("721.5")))
	assert.Equal(t, "721.5", tax.TaxAmount.String())
	assert.Equal(t, "0.0481", tax.TaxRate.String())
	assert.Equal(t, "15000", tax.TaxableAmount.String())

	// The line's answer is kept verbatim for storage.
	assert.Contains(t, string(l.Raw), `"taxAmount":"721.5"`)
	assert.True(t, json.Valid(l.Raw))
	assert.Contains(t, string(resp.Raw), `"jurisSummaries"`)
	require.Len(t, resp.JurisSummaries, 2)
	assert.Equal(t, anrok.NotTaxedProductNotTaxed, resp.JurisSummaries[0].NotTaxedReasons[0].Type)
}

func TestTaxInclusiveLineDecodesItsBackedOutPreTaxAmount(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	req := denverSaaS(31000)
	req.LineItems[0].IsTaxIncludedInAmount = true
	resp, err := e.client.CreateEphemeral(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "29577.3304", resp.LineItems[0].PreTaxAmount.String())
	assert.Equal(t, "1422.66959224", resp.LineItems[0].Jurises[1].Taxes[0].TaxAmount.String())
	assert.EqualValues(t, 1423, resp.TaxAmountToCollect)
}

func TestReverseChargeIsDecodedAsAnExemptReason(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	req := anrok.TransactionRequest{
		LineItems:       []anrok.LineItem{{ID: "l", ProductExternalID: "saas-product-1", Amount: 10000}},
		CurrencyCode:    "EUR",
		CustomerAddress: anrok.Address{Country: "DE", City: "Berlin"},
		CustomerTaxIDs:  []anrok.TaxID{{Type: anrok.TaxIDTypeEUVRN, Value: "DE123456789"}},
	}
	resp, err := e.client.CreateEphemeral(context.Background(), req)
	require.NoError(t, err)
	r := resp.LineItems[0].Jurises[0].NotTaxedReason
	require.NotNil(t, r)
	assert.Equal(t, anrok.NotTaxedExempt, r.Type)
	require.NotNil(t, r.Reason)
	assert.Equal(t, anrok.ExemptReverseCharge, r.Reason.Type)
	assert.EqualValues(t, 0, resp.TaxAmountToCollect)
}

// Anrok rejects empty strings where it accepts a missing field: none is ever sent.
func TestEmptyStringsAreNeverSent(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	req := anrok.TransactionRequest{
		ID: "",
		LineItems: []anrok.LineItem{
			{ProductExternalID: "saas-product-1", Amount: 15000}, // no id, no quantity
			{ID: "l2", ProductExternalID: "saas-product-2", Amount: 100, Quantity: "0.5"},
		},
		CurrencyCode: "USD",
		// Blank and padded fields, as a billing engine's data often has them.
		CustomerAddress: anrok.Address{Country: " US ", Line1: "   ", City: "Denver", Region: "CO", PostalCode: ""},
	}
	_, err := e.client.CreateEphemeral(context.Background(), req)
	require.NoError(t, err)

	body := e.seen.last(t).body
	var generic any
	require.NoError(t, json.Unmarshal(body, &generic))
	walkStrings(generic, "", func(path, s string) {
		assert.NotEqual(t, "", strings.TrimSpace(s), "blank string sent at %s", path)
	})
	var sent struct {
		CustomerAddress map[string]string `json:"customerAddress"`
		LineItems       []map[string]any  `json:"lineItems"`
	}
	require.NoError(t, json.Unmarshal(body, &sent))
	assert.Equal(t, map[string]string{"country": "US", "city": "Denver", "region": "CO"}, sent.CustomerAddress)
	assert.NotContains(t, sent.LineItems[0], "id")
	assert.NotContains(t, sent.LineItems[0], "quantity")
	assert.NotContains(t, sent.LineItems[0], "isTaxIncludedInAmount")
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &top))
	assert.NotContains(t, top, "id")
	for _, absent := range []string{`"customerId"`, `"customerName"`, `"customerTaxIds"`, `"accountingDate"`, `"accountingTime"`, `"accountingTimeZone"`, `"taxDate"`} {
		assert.NotContains(t, string(body), absent+":")
	}
	assert.Contains(t, string(body), `"id":"l2"`)
}

func walkStrings(v any, path string, visit func(path, s string)) {
	switch x := v.(type) {
	case string:
		visit(path, x)
	case map[string]any:
		for k, vv := range x {
			walkStrings(vv, path+"."+k, visit)
		}
	case []any:
		for i, vv := range x {
			walkStrings(vv, fmt.Sprintf("%s[%d]", path, i), visit)
		}
	}
}

func TestRequestsCarryTheBearerKeyAndJSONHeaders(t *testing.T) {
	e := newEnv(t, anroksim.Options{APIKey: testKey}, func(c *anrok.Config) { c.UserAgent = "taxflow-test/1" })
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	require.NoError(t, err)
	r := e.seen.last(t)
	assert.Equal(t, "/v1/seller/transactions/createEphemeral", r.path)
	assert.Equal(t, "Bearer "+testKey, r.header.Get("Authorization"))
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))
	assert.Equal(t, "taxflow-test/1", r.header.Get("User-Agent"))
}

func TestCreateEphemeralNeverSendsTheTransactionID(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	req := denverSaaS(100)
	req.ID = "stripe:in_1"
	_, err := e.client.CreateEphemeral(context.Background(), req)
	require.NoError(t, err)
	assert.NotContains(t, string(e.seen.last(t).body), "stripe:in_1")
	assert.Empty(t, e.sim.Transactions())
}

func TestCreateOrUpdateReturnsTheVersionAnrokAssigned(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	req := denverSaaS(15000)
	req.ID = "stripe:in_1"
	req.CustomerID, req.CustomerName = "cus_1", "Acme"
	resp, err := e.client.CreateOrUpdate(context.Background(), req)
	require.NoError(t, err)
	assert.EqualValues(t, 1, resp.Version)
	assert.EqualValues(t, 722, resp.TaxAmountToCollect)

	resp, err = e.client.CreateOrUpdate(context.Background(), req)
	require.NoError(t, err)
	assert.EqualValues(t, 2, resp.Version)

	txn, ok := e.sim.Transaction("stripe:in_1")
	require.True(t, ok)
	assert.EqualValues(t, 2, txn.Version)
	assert.EqualValues(t, 722, txn.TaxAmountToCollect)
}

func TestVoidEscapesTheTransactionIDAndIsSafeToRetry(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	ctx := context.Background()
	req := denverSaaS(15000)
	req.ID = "v1:inv/2706174 b"
	_, err := e.client.CreateOrUpdate(ctx, req)
	require.NoError(t, err)

	v := int64(1)
	require.NoError(t, e.client.Void(ctx, req.ID, &v))
	assert.Equal(t, "/v1/seller/transactions/id:v1:inv%2F2706174%20b/void", e.seen.last(t).path)
	assert.JSONEq(t, `{"transactionExpectedVersion":1}`, string(e.seen.last(t).body))
	require.NoError(t, e.client.Void(ctx, req.ID, nil))
	assert.JSONEq(t, `{}`, string(e.seen.last(t).body))

	txn, _ := e.sim.Transaction(req.ID)
	assert.Equal(t, anroksim.StatusVoided, txn.Status)
}

func TestCreateNegationRecordsTheInverse(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	ctx := context.Background()
	req := denverSaaS(15000)
	req.ID = "stripe:in_1"
	_, err := e.client.CreateOrUpdate(ctx, req)
	require.NoError(t, err)
	require.NoError(t, e.sim.Freeze(req.ID))

	v := int64(1)
	require.NoError(t, e.client.CreateNegation(ctx, anrok.NegationRequest{
		OriginalTransactionID: req.ID, NewTransactionID: "stripe:in_1:negation", OriginalTransactionExpectedVersion: &v,
	}))
	neg, ok := e.sim.Transaction("stripe:in_1:negation")
	require.True(t, ok)
	assert.EqualValues(t, -722, neg.TaxAmountToCollect)
	assert.Equal(t, "stripe:in_1", neg.NegationOf)
}

func TestListTransactionsPagesThroughEveryTransaction(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	ctx := context.Background()
	for _, id := range []string{"t1", "t2", "t3"} {
		req := denverSaaS(15000)
		req.ID = id
		req.CustomerID, req.CustomerName = "cus_1", "Acme"
		_, err := e.client.CreateOrUpdate(ctx, req)
		require.NoError(t, err)
	}
	require.NoError(t, e.client.Void(ctx, "t2", nil))

	page, err := e.client.ListTransactions(ctx, anrok.ListRequest{Filter: anrok.ModifiedAfter(simNow.Add(-time.Hour)), Limit: 2})
	require.NoError(t, err)
	assert.JSONEq(t, `{"filter":{"type":"lastModifiedAfter","value":"2024-06-15T11:00:00Z"},"limit":2}`, string(e.seen.last(t).body))
	require.True(t, page.HasMore)
	require.Len(t, page.Transactions, 2)
	first := page.Transactions[0]
	assert.Equal(t, anrok.ListedTypeNormal, first.Type)
	assert.Equal(t, "t1", first.ID)
	assert.True(t, first.AnrokCreatedTime.Equal(simNow))
	require.NotNil(t, first.Body)
	assert.Equal(t, "USD", first.Body.CurrencyCode)
	assert.Equal(t, "2024-06-15", first.Body.TaxDate)
	assert.EqualValues(t, 15000, first.Body.InputAmount)
	assert.Equal(t, "721.5", first.Body.TaxAmountDue.Total.String())
	assert.Equal(t, "cus_1", first.Body.Customer.ID)
	assert.Equal(t, "us-CO", first.Body.JurisSummaries[0].JurisID)
	assert.Len(t, first.Body.LineItems, 1)
	assert.Contains(t, string(first.Raw), `"id":"t1"`)

	next, err := e.client.ListTransactions(ctx, anrok.ListRequest{Cursor: page.NextCursor, Limit: 2})
	require.NoError(t, err)
	assert.False(t, next.HasMore)
	require.Len(t, next.Transactions, 1)
	// t2 was voided last, so it comes last.
	assert.Equal(t, "t2", next.Transactions[0].ID)
	assert.Equal(t, anrok.ListedTypeVoid, next.Transactions[0].Type)
	assert.Nil(t, next.Transactions[0].Body)
}

func TestRateLimitedCallsCarryAnroksRetryAfter(t *testing.T) {
	e := newEnv(t, anroksim.Options{RequestsPerSecond: 1})
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	require.NoError(t, err)
	_, err = e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.RateLimited, fe.Class)
	assert.Equal(t, anrok.CodeRateLimited, fe.Code)
	assert.Equal(t, time.Second, fe.RetryAfter)
	assert.Equal(t, http.StatusTooManyRequests, fe.HTTPStatus)
	assert.EqualValues(t, 1, e.sim.Throttled())
}

func TestServerErrorsAreRetryable(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	require.NoError(t, e.sim.InjectFaults(anroksim.Fault{Kind: anroksim.FaultServerError}, 1))
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.Retryable, fe.Class)
	assert.Equal(t, anrok.CodeServerError, fe.Code)
	assert.Equal(t, http.StatusInternalServerError, fe.HTTPStatus)

	_, err = e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	assert.NoError(t, err)
}

func TestExternalServiceErrorIsTheOneRetryableConflict(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	require.NoError(t, e.sim.InjectFaults(anroksim.Fault{Kind: anroksim.FaultExternalServiceError}, 1))
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.Retryable, fe.Class)
	assert.Equal(t, anrok.CodeExternalServiceError, fe.Code)
	assert.Equal(t, http.StatusConflict, fe.HTTPStatus)
}

func TestTimeoutsAreRetryable(t *testing.T) {
	e := newEnv(t, anroksim.Options{}, func(c *anrok.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	require.NoError(t, e.sim.InjectFaults(anroksim.Fault{Kind: anroksim.FaultDelay, Delay: 3 * time.Second}, 1))
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.Retryable, fe.Class)
	assert.Equal(t, anrok.CodeTimeout, fe.Code)
	assert.Contains(t, fe.Message, "may or may not have taken effect")

	// The caller's deadline is a timeout too.
	require.NoError(t, e.sim.InjectFaults(anroksim.Fault{Kind: anroksim.FaultDelay, Delay: 3 * time.Second}, 1))
	slow := anrok.New(anrok.Config{BaseURL: e.url, APIKey: testKey})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = slow.CreateEphemeral(ctx, denverSaaS(100))
	fe = failed(t, err)
	assert.Equal(t, anrok.CodeTimeout, fe.Code)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCancelledCallsAreRetryable(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.CreateEphemeral(ctx, denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.Retryable, fe.Class)
	assert.Equal(t, anrok.CodeCanceled, fe.Code)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	c := anrok.New(anrok.Config{BaseURL: url, APIKey: testKey})
	_, err := c.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.Retryable, fe.Class)
	assert.Equal(t, anrok.CodeNetworkError, fe.Code)
}

func TestBadRequestNeedsAPersonAndCarriesAnroksMessage(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	_, err := e.client.ListTransactions(context.Background(), anrok.ListRequest{Cursor: "!!"})
	fe := failed(t, err)
	assert.Equal(t, failure.NeedsPerson, fe.Class)
	assert.Equal(t, anrok.CodeInvalidRequest, fe.Code)
	assert.Equal(t, http.StatusBadRequest, fe.HTTPStatus)
	assert.Equal(t, `Anrok rejected the request as invalid: Request body: "cursor": is not a cursor this API returned.`, fe.Message)
}

func TestUnauthorizedNeedsAPersonToFixTheKey(t *testing.T) {
	e := newEnv(t, anroksim.Options{APIKey: "the-right-key"})
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.NeedsPerson, fe.Class)
	assert.Equal(t, anrok.CodeUnauthorized, fe.Code)
	assert.Equal(t, http.StatusUnauthorized, fe.HTTPStatus)
	assert.Contains(t, fe.Message, "check the Anrok connection's API key")

	forbidden := stubEnv(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	_, err = forbidden.CreateEphemeral(context.Background(), denverSaaS(100))
	assert.Equal(t, anrok.CodeUnauthorized, failed(t, err).Code)
}

func TestMissingAPIKeyFailsWithoutCallingAnrok(t *testing.T) {
	e := newEnv(t, anroksim.Options{}, func(c *anrok.Config) { c.APIKey = "  " })
	_, err := e.client.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.NeedsPerson, fe.Class)
	assert.Equal(t, anrok.CodeUnauthorized, fe.Code)
	assert.Zero(t, e.seen.count())
}

// Every 409 the simulator can produce, through the client: each needs a person, carries
// Anrok's type as its code and says what to fix.
func TestConflictsNeedAPersonAndSayWhatToFix(t *testing.T) {
	ctx := context.Background()
	future := func(r anrok.TransactionRequest) anrok.TransactionRequest { r.TaxDate = "2024-08-01"; return r }
	cases := []struct {
		name    string
		opts    anroksim.Options
		setup   func(t *testing.T, e env)
		call    func(e env) error
		code    string
		message string
	}{
		{name: "unknown product", call: func(e env) error {
			r := denverSaaS(100)
			r.LineItems[0].ProductExternalID = "enterprise-plan"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeProductExternalIDUnknown, message: `map product "enterprise-plan" in Anrok: no Anrok product has external id "enterprise-plan"`},
		{name: "address", call: func(e env) error {
			r := denverSaaS(100)
			r.CustomerAddress = anrok.Address{Country: "US", City: "Springfield"}
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeCustomerAddressCouldNotResolve, message: "fix the customer's address: Anrok could not place it in a jurisdiction"},
		{name: "currency", call: func(e env) error {
			r := denverSaaS(100)
			r.CurrencyCode = "xyz"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeCurrencyCodeNotSupported, message: `Anrok does not support currency "XYZ"`},
		{name: "customer id", call: func(e env) error {
			r := denverSaaS(100)
			r.CustomerID = "cus_unknown"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeCustomerIDNotFound, message: "send the customer's name"},
		{name: "tax date in the future", call: func(e env) error {
			_, err := e.client.CreateEphemeral(ctx, future(denverSaaS(100)))
			return err
		}, code: anrok.CodeTaxDateTooFarInFuture, message: `"2024-08-01" is more than 31 days in the future`},
		{name: "tax date in the past", call: func(e env) error {
			r := denverSaaS(100)
			r.TaxDate = "1998-12-31"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeTaxDateTooFarInPast, message: "before 1999-01-01"},
		{name: "zone not supported", call: func(e env) error {
			r := denverSaaS(100)
			r.AccountingTime, r.AccountingTimeZone = "2024-06-15T10:00:00Z", "Mars/Olympus_Mons"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeAccountingTimeZoneNotSupported, message: "use an accounting time zone Anrok supports"},
		{name: "seller has no zone", opts: anroksim.Options{SellerTimeZoneUnset: true}, call: func(e env) error {
			_, err := e.client.CreateEphemeral(ctx, denverSaaS(100))
			return err
		}, code: anrok.CodeAccountingTimeZoneNotSetForSeller, message: "set the accounting time zone"},
		{name: "custom category", setup: func(t *testing.T, e env) {
			require.NoError(t, e.sim.AddProduct(anroksim.Product{ExternalID: "custom-1", Name: "Custom", TaxCategory: anroksim.TaxCategory{Type: anroksim.TaxCategoryCustom, ID: "c1"}}))
		}, call: func(e env) error {
			r := denverSaaS(100)
			r.LineItems[0].ProductExternalID = "custom-1"
			_, err := e.client.CreateEphemeral(ctx, r)
			return err
		}, code: anrok.CodeProductTaxCategoryNotSupportedForJuris, message: `give product "custom-1" a tax category`},
		{name: "update of a filed transaction", setup: commitFrozen("t1"), call: func(e env) error {
			r := denverSaaS(100)
			r.ID = "t1"
			_, err := e.client.CreateOrUpdate(ctx, r)
			return err
		}, code: anrok.CodeTransactionFrozenForFiling, message: `Anrok transaction "t1" is frozen because it has been filed`},
		{name: "void of a filed transaction", setup: commitFrozen("t1"), call: func(e env) error {
			return e.client.Void(ctx, "t1", nil)
		}, code: anrok.CodeTransactionFrozenForFiling, message: "reverse it with a negation"},
		{name: "void of an unknown transaction", call: func(e env) error {
			return e.client.Void(ctx, "stripe:in_404", nil)
		}, code: anrok.CodeTransactionIDNotFound, message: `Anrok has no transaction "stripe:in_404"`},
		{name: "void of a changed transaction", setup: commitTwice("t1"), call: func(e env) error {
			v := int64(1)
			return e.client.Void(ctx, "t1", &v)
		}, code: anrok.CodeTransactionExpectedVersionMismatch, message: `Anrok transaction "t1" changed since it was last read (expected version 1)`},
		{name: "negation of an unknown transaction", call: func(e env) error {
			return e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "nope", NewTransactionID: "n1"})
		}, code: anrok.CodeTransactionIDNotFound, message: `Anrok has no transaction "nope"`},
		{name: "negation of a changed transaction", setup: commitTwice("t1"), call: func(e env) error {
			v := int64(1)
			return e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "t1", NewTransactionID: "n1", OriginalTransactionExpectedVersion: &v})
		}, code: anrok.CodeTransactionExpectedVersionMismatch, message: "reload it and decide again"},
		{name: "negation of a negation", setup: func(t *testing.T, e env) {
			commitFrozen("t1")(t, e)
			require.NoError(t, e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "t1", NewTransactionID: "n1"}))
		}, call: func(e env) error {
			return e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "n1", NewTransactionID: "n2"})
		}, code: anrok.CodeTransactionIsAlreadyANegation, message: `Anrok transaction "n1" is itself a negation`},
		{name: "negation under a taken id", setup: func(t *testing.T, e env) {
			commitFrozen("t1")(t, e)
			commitFrozen("t2")(t, e)
		}, call: func(e env) error {
			return e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "t1", NewTransactionID: "t2"})
		}, code: anrok.CodeDuplicateTransactionID, message: `the transaction id "t2" is already used in Anrok`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			fe := failed(t, tc.call(e))
			assert.Equal(t, failure.NeedsPerson, fe.Class)
			assert.Equal(t, tc.code, fe.Code)
			assert.Equal(t, http.StatusConflict, fe.HTTPStatus)
			assert.Contains(t, fe.Message, tc.message)
		})
	}
}

func commitFrozen(id string) func(t *testing.T, e env) {
	return func(t *testing.T, e env) {
		r := denverSaaS(100)
		r.ID = id
		_, err := e.client.CreateOrUpdate(context.Background(), r)
		require.NoError(t, err)
		require.NoError(t, e.sim.Freeze(id))
	}
}

func commitTwice(id string) func(t *testing.T, e env) {
	return func(t *testing.T, e env) {
		r := denverSaaS(100)
		r.ID = id
		for range 2 {
			_, err := e.client.CreateOrUpdate(context.Background(), r)
			require.NoError(t, err)
		}
	}
}

func TestUnknownConflictTypesStillNeedAPerson(t *testing.T) {
	c := stubEnv(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"type":"sellerAccountSuspended"}`)
	})
	_, err := c.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, failure.NeedsPerson, fe.Class)
	assert.Equal(t, "sellerAccountSuspended", fe.Code)
	assert.Contains(t, fe.Message, "retrying the same request will not help")
}

func TestUnknownResponseShapesAreRetryable(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"HTML instead of JSON": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<html>maintenance</html>")
		},
		"missing tax": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"preTaxAmount":"100","lineItems":[{"id":"item-1","taxAmountToCollect":0,"preTaxAmount":"100","jurises":[]}]}`)
		},
		"missing lines": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"taxAmountToCollect":0,"preTaxAmount":"100","lineItems":[]}`)
		},
		"lines out of order": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"taxAmountToCollect":0,"preTaxAmount":"100","lineItems":[{"id":"other","taxAmountToCollect":0,"preTaxAmount":"100","jurises":[]}]}`)
		},
		"a float where a decimal string belongs is fine, a word is not": func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"taxAmountToCollect":0,"preTaxAmount":"lots","lineItems":[{"id":"item-1","taxAmountToCollect":0,"preTaxAmount":"100","jurises":[]}]}`)
		},
		"409 without a type": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, "conflict")
		},
		"404 from a proxy": func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := stubEnv(t, h).CreateEphemeral(context.Background(), denverSaaS(100))
			fe := failed(t, err)
			assert.Equal(t, failure.Retryable, fe.Class)
			assert.Equal(t, anrok.CodeUnexpectedResponse, fe.Code)
		})
	}

	_, err := stubEnv(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"nextCursor":null,"hasMore":false}`)
	}).ListTransactions(context.Background(), anrok.ListRequest{})
	assert.Equal(t, anrok.CodeUnexpectedResponse, failed(t, err).Code)

	_, err = stubEnv(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"taxAmountToCollect":1,"preTaxAmount":"100","lineItems":[{"id":"item-1","taxAmountToCollect":1,"preTaxAmount":"100","jurises":[]}]}`)
	}).CreateOrUpdate(context.Background(), func() anrok.TransactionRequest { r := denverSaaS(100); r.ID = "t"; return r }())
	assert.Contains(t, failed(t, err).Message, "version is missing")
}

func TestDecimalsAreDecodedFromStringsOrNumbers(t *testing.T) {
	c := stubEnv(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"taxAmountToCollect":722,"preTaxAmount":15000,"lineItems":[{"id":"item-1","taxAmountToCollect":722,"preTaxAmount":"15000.0000",
			"jurises":[{"name":"Denver (local)","notTaxedReason":null,"taxes":[{"taxName":"Tax","taxableAmount":"15000","taxAmount":"721.5","taxRate":"0.0481"}]}]}],"jurisSummaries":[]}`)
	})
	resp, err := c.CreateEphemeral(context.Background(), denverSaaS(15000))
	require.NoError(t, err)
	assert.True(t, resp.PreTaxAmount.Equal(decimal.NewFromInt(15000)))
	assert.True(t, resp.LineItems[0].PreTaxAmount.Equal(decimal.NewFromInt(15000)))
	assert.Equal(t, "721.5", resp.LineItems[0].Jurises[0].Taxes[0].TaxAmount.String())
}

func TestErrorBodiesAreReadWithALimitAndTheKeyIsRedacted(t *testing.T) {
	c := stubEnv(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		// A proxy echoing the request headers, then a very long page.
		fmt.Fprintf(w, "bad request from %s %s", r.Header.Get("Authorization"), strings.Repeat("x", 1<<20))
	})
	_, err := c.CreateEphemeral(context.Background(), denverSaaS(100))
	fe := failed(t, err)
	assert.Equal(t, anrok.CodeInvalidRequest, fe.Code)
	assert.Contains(t, fe.Message, "[redacted]")
	assert.Less(t, len(fe.Message), 1000)
}

func TestTheAPIKeyNeverAppearsWhenPrinted(t *testing.T) {
	cfg := anrok.Config{BaseURL: "https://api.anrok.com", APIKey: testKey}
	c := anrok.New(cfg)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("anrok", "config", cfg, "client", c)
	for _, s := range []string{
		fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg),
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		logged.String(),
	} {
		assert.NotContains(t, s, testKey)
		assert.NotContains(t, s, "secret.abcdef")
	}
	assert.Contains(t, logged.String(), "[redacted]")
}

// What Anrok would reject with a 400 is caught before the call, naming every field.
func TestRequestsAnrokWouldRejectFailLocallyWithoutACall(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	ctx := context.Background()
	withReq := func(f func(*anrok.TransactionRequest)) anrok.TransactionRequest {
		r := denverSaaS(100)
		r.ID = "t1"
		f(&r)
		return r
	}
	cases := map[string]struct {
		call func() error
		want string
	}{
		"accounting date with zone": {func() error {
			_, err := e.client.CreateOrUpdate(ctx, withReq(func(r *anrok.TransactionRequest) {
				r.AccountingDate, r.AccountingTime, r.AccountingTimeZone = "2024-06-15", "2024-06-15T10:00:00Z", "UTC"
			}))
			return err
		}, "accountingDate cannot be sent together with accountingTimeZone"},
		"amount too large": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.LineItems[0].Amount = anrok.MaxLineAmount + 1 }))
			return err
		}, "lineItems[0].amount 100000000001 is outside Anrok's range"},
		"amount too small": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.LineItems[0].Amount = anrok.MinLineAmount - 1 }))
			return err
		}, "lineItems[0].amount -100000000001 is outside Anrok's range"},
		"empty product": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.LineItems[0].ProductExternalID = " " }))
			return err
		}, "lineItems[0].productExternalId is required"},
		"empty currency": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.CurrencyCode = "" }))
			return err
		}, "currencyCode is required"},
		"bad currency": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.CurrencyCode = "US$" }))
			return err
		}, `currencyCode "US$" is not a 3-letter ISO 4217 code`},
		"bad quantity": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.LineItems[0].Quantity = "1,5" }))
			return err
		}, `lineItems[0].quantity "1,5" is not a decimal number`},
		"bad tax id": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) {
				r.CustomerTaxIDs = []anrok.TaxID{{Type: "eu_vat", Value: ""}}
			}))
			return err
		}, `customerTaxIds[0].type "eu_vat" is not one of "euVrn", "genericVatNumber"; customerTaxIds[0].value is empty`},
		"bad dates": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) {
				r.TaxDate, r.AccountingDate = "15/06/2024", "2024-6-1"
			}))
			return err
		}, `accountingDate "2024-6-1" is not a YYYY-MM-DD date; taxDate "15/06/2024" is not a YYYY-MM-DD date`},
		"zone without time": {func() error {
			_, err := e.client.CreateEphemeral(ctx, withReq(func(r *anrok.TransactionRequest) { r.AccountingTimeZone = "UTC" }))
			return err
		}, "accountingTimeZone is only meaningful with accountingTime"},
		"commit without id": {func() error {
			_, err := e.client.CreateOrUpdate(ctx, withReq(func(r *anrok.TransactionRequest) { r.ID = "" }))
			return err
		}, "id is required by createOrUpdate"},
		"void without id":   {func() error { return e.client.Void(ctx, "", nil) }, "the transaction id to void is required"},
		"void of version 0": {func() error { v := int64(0); return e.client.Void(ctx, "t1", &v) }, "transactionExpectedVersion 0 is not a version"},
		"negation onto itself": {func() error {
			return e.client.CreateNegation(ctx, anrok.NegationRequest{OriginalTransactionID: "t1", NewTransactionID: "t1"})
		}, "newTransactionId must differ from originalTransactionId"},
		"negation without ids": {func() error { return e.client.CreateNegation(ctx, anrok.NegationRequest{}) },
			"originalTransactionId is required; newTransactionId is required"},
		"list with filter and cursor": {func() error {
			_, err := e.client.ListTransactions(ctx, anrok.ListRequest{Filter: anrok.ModifiedAfter(simNow), Cursor: "c"})
			return err
		}, "filter and cursor cannot be sent together"},
		"list limit": {func() error {
			_, err := e.client.ListTransactions(ctx, anrok.ListRequest{Limit: 21})
			return err
		}, "limit 21 is outside 1..20"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fe := failed(t, tc.call())
			assert.Equal(t, failure.NeedsPerson, fe.Class)
			assert.Equal(t, anrok.CodeInvalidRequest, fe.Code)
			assert.Contains(t, fe.Message, tc.want)
		})
	}
	assert.Zero(t, e.seen.count(), "no invalid request may reach Anrok")

	assert.NoError(t, denverSaaS(100).Validate())
	assert.Error(t, anrok.TransactionRequest{}.Validate())
}

func TestAnEmptyLineListIsSentAsAnEmptyArray(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	resp, err := e.client.CreateEphemeral(context.Background(), anrok.TransactionRequest{CurrencyCode: "USD", CustomerAddress: denver()})
	require.NoError(t, err)
	assert.Contains(t, string(e.seen.last(t).body), `"lineItems":[]`)
	assert.EqualValues(t, 0, resp.TaxAmountToCollect)
}

func TestFilingInfoFilterIsSentAsAnrokDocumentsIt(t *testing.T) {
	e := newEnv(t, anroksim.Options{})
	page, err := e.client.ListTransactions(context.Background(), anrok.ListRequest{Filter: anrok.FiledIn("us-CO", "f1")})
	require.NoError(t, err)
	assert.Empty(t, page.Transactions)
	assert.JSONEq(t, `{"filter":{"type":"filingInfo","value":{"filingAssociationStatus":"associated","jurisId":"us-CO","jurisFilingId":"f1"}}}`, string(e.seen.last(t).body))
}
