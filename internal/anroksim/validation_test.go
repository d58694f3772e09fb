package anroksim

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Anrok accepts a missing or null address field but rejects an empty string, naming it.
func TestEmptyAddressFieldIsRejectedNamingTheField(t *testing.T) {
	s, _ := newSim(t, Options{})
	for _, field := range []string{"country", "line1", "city", "region", "postalCode"} {
		addr := denver()
		addr[field] = ""
		msg := post(t, s, pathEphemeral, txnTo(addr, line("l", ProductSaaS1, 100))).badRequest(t)
		assert.Equal(t, `Request body: "customerAddress.`+field+`": must not be empty.`, msg)
	}
	// null is fine.
	addr := denver()
	addr["line1"] = nil
	post(t, s, pathEphemeral, txnTo(addr, line("l", ProductSaaS1, 100))).ok(t)
}

func TestMissingLineItemsIsRequired(t *testing.T) {
	s, _ := newSim(t, Options{})
	a := post(t, s, pathEphemeral, obj{"currencyCode": "USD", "customerAddress": denver()})
	assert.Equal(t, `"Request body: \"lineItems\": Required."`, string(a.body))
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	assert.Equal(t, `Request body: "lineItems": Required.`, post(t, s, pathEphemeral, obj{"lineItems": nil, "currencyCode": "USD", "customerAddress": denver()}).badRequest(t))
}

func TestMalformedBodiesAreBadRequestsNamingTheField(t *testing.T) {
	s, _ := newSim(t, Options{})
	for name, tc := range map[string]struct {
		body any
		want string
	}{
		"amount above the maximum": {txnTo(denver(), line("l", ProductSaaS1, 100_000_000_001)),
			`Request body: "lineItems[0].amount": must be between -100000000000 and 100000000000.`},
		"amount below the minimum": {txnTo(denver(), line("l", ProductSaaS1, -100_000_000_001)),
			`Request body: "lineItems[0].amount": must be between -100000000000 and 100000000000.`},
		"missing amount": {txnTo(denver(), obj{"productExternalId": ProductSaaS1}),
			`Request body: "lineItems[0].amount": Required.`},
		"missing product": {txnTo(denver(), obj{"amount": 1}),
			`Request body: "lineItems[0].productExternalId": Required.`},
		"empty product": {txnTo(denver(), line("l", "", 1)),
			`Request body: "lineItems[0].productExternalId": must not be empty.`},
		"fractional amount": {`{"lineItems":[{"productExternalId":"saas-product-1","amount":1.5}]}`,
			`Request body: "lineItems.amount": Expected an integer.`},
		"quantity not a decimal": {txnTo(denver(), obj{"productExternalId": ProductSaaS1, "amount": 1, "quantity": "three"}),
			`Request body: "lineItems[0].quantity": must be a decimal number string.`},
		"missing currency": {obj{"lineItems": []any{}, "customerAddress": denver()},
			`Request body: "currencyCode": Required.`},
		"empty currency": {obj{"lineItems": []any{}, "currencyCode": "", "customerAddress": denver()},
			`Request body: "currencyCode": must not be empty.`},
		"missing address": {obj{"lineItems": []any{}, "currencyCode": "USD"},
			`Request body: "customerAddress": Required.`},
		"accounting date with zone": {func() obj {
			b := txnTo(denver())
			b["accountingDate"] = "2024-06-01"
			b["accountingTime"] = "2024-06-01T10:00:00Z"
			b["accountingTimeZone"] = "UTC"
			return b
		}(), `Request body: "accountingTimeZone": cannot be sent together with "accountingDate".`},
		"bad tax date": {func() obj { b := txnTo(denver()); b["taxDate"] = "06/01/2024"; return b }(),
			`Request body: "taxDate": must be a date (YYYY-MM-DD).`},
		"bad tax id type": {func() obj {
			b := txnTo(denver())
			b["customerTaxIds"] = []obj{{"type": "eu_vat", "value": "DE1"}}
			return b
		}(), `Request body: "customerTaxIds[0].type": must be one of "euVrn", "genericVatNumber".`},
		"not JSON":      {`{"lineItems":`, `Request body: invalid JSON.`},
		"not an object": {`[1,2]`, `Request body: must be a JSON object.`},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, post(t, s, pathEphemeral, tc.body).badRequest(t))
		})
	}
}

func TestCreateOrUpdateRequiresAnID(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Equal(t, `Request body: "id": Required.`, post(t, s, pathCommit, txnTo(denver())).badRequest(t))
	assert.Equal(t, `Request body: "id": must not be empty.`, post(t, s, pathCommit, withID(txnTo(denver()), "")).badRequest(t))
}

func TestUnknownProductIsProductExternalIdUnknown(t *testing.T) {
	s, _ := newSim(t, Options{})
	c := post(t, s, pathEphemeral, txnTo(denver(), line("a", ProductSaaS1, 1), line("b", "enterprise-plan", 1))).conflict(t)
	assert.Equal(t, conflictBody{Type: "productExternalIdUnknown", ProductExternalID: "enterprise-plan"}, c)
}

func TestUnplaceableAddressIsCustomerAddressCouldNotResolve(t *testing.T) {
	s, _ := newSim(t, Options{})
	for name, addr := range map[string]obj{
		"unknown country":    {"country": "XX", "city": "Nowhere"},
		"US without a state": {"country": "US", "city": "Springfield", "postalCode": "62701"},
		"US unknown state":   {"country": "US", "region": "Cascadia"},
		"nothing at all":     {},
	} {
		c := post(t, s, pathEphemeral, txnTo(addr, line("l", ProductSaaS1, 100))).conflict(t)
		assert.Equal(t, "customerAddressCouldNotResolve", c.Type, name)
	}
	// A recognisable state places the address even without a country.
	post(t, s, pathEphemeral, txnTo(obj{"region": "Colorado", "city": "Denver"}, line("l", ProductSaaS1, 100))).ok(t)
}

func TestCurrencyMustBeOneAnrokSupports(t *testing.T) {
	s, _ := newSim(t, Options{})
	b := txnTo(denver(), line("l", ProductSaaS1, 100))
	b["currencyCode"] = "XYZ"
	assert.Equal(t, "currencyCodeNotSupported", post(t, s, pathEphemeral, b).conflict(t).Type)
	b["currencyCode"] = "usd" // case-insensitive
	post(t, s, pathEphemeral, b).ok(t)
	b["currencyCode"] = "US"
	assert.Equal(t, `Request body: "currencyCode": must be a 3-letter currency code.`, post(t, s, pathEphemeral, b).badRequest(t))
}

// testNow is 2024-06-15: tax dates up to 2024-07-16 are accepted.
func TestTaxDateMustBeWithin31DaysAheadAndNotBefore1999(t *testing.T) {
	s, _ := newSim(t, Options{})
	for date, want := range map[string]string{
		"2024-07-16": "",
		"2024-07-17": "taxDateTooFarInFuture",
		"1999-01-01": "",
		"1998-12-31": "taxDateTooFarInPast",
	} {
		b := txnTo(denver(), line("l", ProductSaaS1, 100))
		b["taxDate"] = date
		a := post(t, s, pathEphemeral, b)
		if want == "" {
			a.ok(t)
		} else {
			assert.Equal(t, want, a.conflict(t).Type, date)
		}
	}
	// Without a taxDate, the accounting date is the tax date.
	b := txnTo(denver(), line("l", ProductSaaS1, 100))
	b["accountingDate"] = "2024-09-01"
	assert.Equal(t, "taxDateTooFarInFuture", post(t, s, pathEphemeral, b).conflict(t).Type)
}

func TestAccountingTimeZoneMustBeSupportedAndKnown(t *testing.T) {
	s, _ := newSim(t, Options{})
	b := txnTo(denver(), line("l", ProductSaaS1, 100))
	b["accountingTime"] = "2024-06-15T02:00:00Z"
	b["accountingTimeZone"] = "Mars/Olympus_Mons"
	assert.Equal(t, "accountingTimeZoneNotSupported", post(t, s, pathEphemeral, b).conflict(t).Type)

	unset, _ := newSim(t, Options{SellerTimeZoneUnset: true})
	b = txnTo(denver(), line("l", ProductSaaS1, 100))
	assert.Equal(t, "accountingTimeZoneNotSetForSeller", post(t, unset, pathEphemeral, b).conflict(t).Type)
	b["accountingDate"] = "2024-06-15"
	post(t, unset, pathEphemeral, b).ok(t)

	b = txnTo(denver(), line("l", ProductSaaS1, 100))
	b["accountingTimeZone"] = "UTC"
	assert.Equal(t, `Request body: "accountingTime": Required when "accountingTimeZone" is sent.`, post(t, s, pathEphemeral, b).badRequest(t))
}

// The accounting date is the accounting time's date in the given zone: 02:00 UTC on the
// 15th is still the 14th in Los Angeles.
func TestAccountingTimeIsDatedInItsZone(t *testing.T) {
	s, _ := newSim(t, Options{})
	b := withID(txnTo(denver(), line("l", ProductSaaS1, 100)), "t1")
	b["accountingTime"] = "2024-06-15T02:00:00Z"
	b["accountingTimeZone"] = "America/Los_Angeles"
	post(t, s, pathCommit, b).ok(t)
	page := list(t, s, obj{})
	require.Len(t, page.Transactions, 1)
	assert.Equal(t, "2024-06-14", page.Transactions[0].Body.AccountingDate)
	assert.Equal(t, "2024-06-14", page.Transactions[0].Body.TaxDate)
}

func TestSellerTimeZoneDatesTransactionsSentWithoutADate(t *testing.T) {
	// 23:00 UTC on the 15th is already the 16th in Tokyo.
	late := testNow.Add(11 * time.Hour)
	s := New(Options{SellerTimeZone: "Asia/Tokyo", Now: func() time.Time { return late }})
	post(t, s, pathCommit, withID(txnTo(denver(), line("l", ProductSaaS1, 100)), "t1")).ok(t)
	assert.Equal(t, "2024-06-16", list(t, s, obj{}).Transactions[0].Body.AccountingDate)
}

func TestCustomerIDWithoutNameMustAlreadyExist(t *testing.T) {
	s, _ := newSim(t, Options{})
	b := txnTo(denver(), line("l", ProductSaaS1, 100))
	b["customerId"] = "cus_1"
	assert.Equal(t, "customerIdNotFound", post(t, s, pathEphemeral, b).conflict(t).Type)

	// Naming the customer on a committed transaction creates it.
	named := withID(txnTo(denver(), line("l", ProductSaaS1, 100)), "t1")
	named["customerId"] = "cus_1"
	named["customerName"] = "Acme"
	post(t, s, pathCommit, named).ok(t)
	post(t, s, pathEphemeral, b).ok(t)

	require.NoError(t, s.AddCustomer("cus_2", "Globex"))
	b["customerId"] = "cus_2"
	post(t, s, pathEphemeral, b).ok(t)
}

func TestCustomTaxCategoryIsNotSupportedWhereTaxIsCollected(t *testing.T) {
	s, _ := newSim(t, Options{})
	require.NoError(t, s.AddProduct(Product{ExternalID: "custom-1", Name: "Custom", TaxCategory: TaxCategory{Type: TaxCategoryCustom, ID: "cat_1"}}))
	c := post(t, s, pathEphemeral, txnTo(denver(), line("l", "custom-1", 100))).conflict(t)
	assert.Equal(t, conflictBody{Type: "productTaxCategoryNotSupportedForJuris", ProductExternalID: "custom-1"}, c)
	// Where nothing is collected, the category never matters.
	post(t, s, pathEphemeral, txnTo(obj{"region": "OR", "country": "US"}, line("l", "custom-1", 100))).ok(t)
}

func TestProductsCanBeCreatedAndFetchedByExternalID(t *testing.T) {
	s, _ := newSim(t, Options{})
	p := obj{"externalId": "pro-plan", "name": "Pro plan", "taxCategoryId": obj{"type": "standard", "id": "saas"}}
	post(t, s, "/v1/seller/products/create", p).ok(t)
	assert.Equal(t, "productExternalIdAlreadyExists", post(t, s, "/v1/seller/products/create", p).conflict(t).Type)

	got := post(t, s, "/v1/seller/products/externalId:pro-plan/get", obj{}).ok(t)
	assert.JSONEq(t, `{"externalId":"pro-plan","name":"Pro plan","taxCategoryId":{"type":"standard","id":"saas"}}`, string(got))
	c := post(t, s, "/v1/seller/products/externalId:nope/get", obj{}).conflict(t)
	assert.Equal(t, conflictBody{Type: "productExternalIdUnknown", ProductExternalID: "nope"}, c)

	assert.EqualValues(t, 722, ephemeral(t, s, txnTo(denver(), line("l", "pro-plan", 15000))).TaxAmountToCollect)

	bad := obj{"externalId": "x", "name": "X", "taxCategoryId": obj{"type": "standard", "id": "alcohol"}}
	assert.Contains(t, post(t, s, "/v1/seller/products/create", bad).badRequest(t), `"taxCategoryId.id"`)
	assert.Len(t, s.Products(), 4)
}

func TestEveryEndpointNeedsABearerKey(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Equal(t, http.StatusUnauthorized, postWithKey(t, s, pathEphemeral, txnTo(denver()), "").status)

	locked, _ := newSim(t, Options{APIKey: "right-key"})
	assert.Equal(t, http.StatusUnauthorized, postWithKey(t, locked, pathEphemeral, txnTo(denver()), "wrong-key").status)
	assert.Equal(t, http.StatusOK, postWithKey(t, locked, pathEphemeral, txnTo(denver()), "right-key").status)
}

func TestUnknownPathsAndMethods(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Equal(t, http.StatusNotFound, post(t, s, "/v1/seller/filings/list", obj{}).status)
	req, _ := http.NewRequest(http.MethodGet, pathEphemeral, nil)
	req.Header.Set("Authorization", "Bearer k")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}
