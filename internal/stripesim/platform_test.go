package stripesim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// A key that is not accepted is a 401 naming the key redacted to its last four characters;
// the key itself never appears in the answer.
func TestInvalidAPIKeyIsRefusedWithRedactedKey(t *testing.T) {
	h := newHarness(t, Options{APIKey: testKey})
	_, err := h.client("sk_test_wrongkey_zz99").V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{})
	se := stripeError(t, err, 401)
	assert.Equal(t, stripe.ErrorTypeInvalidRequest, se.Type)
	assert.Equal(t, "Invalid API Key provided: sk_test_****zz99", se.Msg)

	resp, body := h.raw("GET", "/v1/customers", "sk_test_wrongkey_zz99", "", nil)
	assert.Equal(t, 401, resp.StatusCode)
	assert.NotContains(t, body, "wrongkey")

	_, err = h.client(testKey).V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{})
	require.NoError(t, err)

	// Without Options.APIKey any test-mode secret key is an account; nothing else is.
	open := newHarness(t, Options{})
	for _, key := range []string{"sk_live_1234567890", "pk_test_1234567890", "sk_test_"} {
		_, err := open.client(key).V1Customers.Create(open.ctx, &stripe.CustomerCreateParams{})
		stripeError(t, err, 401)
	}
	resp, body = open.raw("GET", "/v1/customers", "", "", nil)
	assert.Equal(t, 401, resp.StatusCode)
	assert.Contains(t, body, "You did not provide an API key")
	// Stripe also takes the key as the Basic-auth user name (curl -u sk_test_...:).
	resp, _ = open.raw("GET", "/v1/customers", "", "", map[string]string{"Authorization": "Basic c2tfdGVzdF9iYXNpYzo="})
	assert.Equal(t, 200, resp.StatusCode)
}

// Each API key is its own Stripe account: objects, lists and idempotency keys are not shared.
func TestEachAPIKeyIsItsOwnAccount(t *testing.T) {
	h := newHarness(t, Options{})
	us, eu := h.client("sk_test_us_account_1111"), h.client("sk_test_eu_account_2222")
	cus := h.customer(us)
	inv := h.draft(us, cus.ID)

	_, err := eu.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	assert.Equal(t, stripe.ErrorCodeResourceMissing, stripeError(t, err, 404).Code)
	_, err = eu.V1Invoices.Create(h.ctx, &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID)})
	stripeError(t, err, 400)
	for range eu.V1Invoices.List(h.ctx, &stripe.InvoiceListParams{}) {
		t.Fatal("the other account sees no invoices")
	}

	all := h.sim.Invoices()
	require.Len(t, all, 1)
	assert.Equal(t, "sk_test_****1111", all[0].Account)
}

// Stripe's rate limiter answers 429 rate_limit, without Retry-After, once an account exceeds
// its requests per second; other accounts are not affected.
func TestRateLimitAnswers429WithoutRetryAfter(t *testing.T) {
	h := newHarness(t, Options{RequestsPerSecond: 5})
	limited := 0
	for range 20 {
		resp, body := h.raw("GET", "/v1/customers", testKey, "", nil)
		if resp.StatusCode == 429 {
			limited++
			assert.Empty(t, resp.Header.Get("Retry-After"))
			assert.Contains(t, body, `"code": "rate_limit"`)
			assert.Contains(t, body, `"type": "invalid_request_error"`)
		}
	}
	assert.GreaterOrEqual(t, limited, 10)
	assert.Equal(t, int64(limited), h.sim.RateLimitedCount())

	_, err := h.client(testKey).V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{})
	se := stripeError(t, err, 429)
	assert.Equal(t, stripe.ErrorCodeRateLimit, se.Code)

	resp, _ := h.raw("GET", "/v1/customers", "sk_test_another_account_3333", "", nil)
	assert.Equal(t, 200, resp.StatusCode, "limits are per account")

	time.Sleep(time.Second)
	resp, _ = h.raw("GET", "/v1/customers", testKey, "", nil)
	assert.Equal(t, 200, resp.StatusCode, "the limit refills")
}

// Stripe refuses parameters it does not know (parameter_unknown); parameters Stripe knows but
// the simulator does not model are refused explicitly rather than ignored.
func TestUnknownParametersAreRefused(t *testing.T) {
	h := newHarness(t, Options{})
	cus := h.customer(h.client(testKey))
	resp, body := h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID+"&colour=blue", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, `"code": "parameter_unknown"`)
	assert.Contains(t, body, `"param": "colour"`)

	resp, body = h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID+"&default_tax_rates[0]=txr_1", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, "stripesim does not model the parameter default_tax_rates")

	resp, body = h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID+"&auto_advance=yes", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, "Invalid boolean: yes")

	resp, body = h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID+"&days_until_due=ten", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, `"code": "parameter_invalid_integer"`)

	resp, body = h.raw("GET", "/v1/invoices/in_1?expand[]=subscription", testKey, "", nil)
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, "This property cannot be expanded (subscription).")

	resp, body = h.raw("GET", "/v1/nothing_here", testKey, "", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Contains(t, body, "Unrecognized request URL (GET: /v1/nothing_here)")
}

// expand[]=customer embeds the customer object where Stripe would send its id.
func TestExpandCustomerOnInvoice(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv := h.draft(sc, cus.ID)
	p := &stripe.InvoiceRetrieveParams{}
	p.AddExpand("customer")
	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, p)
	require.NoError(t, err)
	assert.Equal(t, "Acme Corp", got.Customer.Name)
	assert.Equal(t, "billing@acme.test", got.Customer.Email)
}

// Customers: create, retrieve, update, list (newest first) with Stripe's shapes.
func TestCustomersCRUD(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	a := h.customer(sc)
	assert.True(t, strings.HasPrefix(a.ID, "cus_"))
	assert.Equal(t, "US", a.Address.Country)
	b, err := sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{
		Name: stripe.String("Beta"), Metadata: map[string]string{"taxflow_customer_id": "c_2"},
	})
	require.NoError(t, err)
	b, err = sc.V1Customers.Update(h.ctx, b.ID, &stripe.CustomerUpdateParams{Email: stripe.String("ap@beta.test")})
	require.NoError(t, err)
	assert.Equal(t, "ap@beta.test", b.Email)
	assert.Equal(t, "c_2", b.Metadata["taxflow_customer_id"])

	var ids []string
	for c, err := range sc.V1Customers.List(h.ctx, &stripe.CustomerListParams{}) {
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	assert.Equal(t, []string{b.ID, a.ID}, ids)

	_, err = sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Email: stripe.String("not an email")})
	assert.Equal(t, stripe.ErrorCodeEmailInvalid, stripeError(t, err, 400).Code)
	_, err = sc.V1Customers.Retrieve(h.ctx, "cus_missing", nil)
	assert.Equal(t, "No such customer: 'cus_missing'", stripeError(t, err, 404).Msg)
}

// Invoice items created on their own with invoice=... join the draft as lines.
func TestInvoiceItemCreatedOnDraftBecomesALine(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	inv := h.draft(sc, cus.ID)
	item, err := sc.V1InvoiceItems.Create(h.ctx, &stripe.InvoiceItemCreateParams{
		Customer: stripe.String(cus.ID), Invoice: stripe.String(inv.ID), Amount: stripe.Int64(1234),
		Description: stripe.String("Setup fee"),
	})
	require.NoError(t, err)
	assert.Equal(t, inv.ID, item.Invoice.ID)
	got, err := sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1234), got.Total)
	assert.Equal(t, item.ID, got.Lines.Data[0].Parent.InvoiceItemDetails.InvoiceItem)

	item, err = sc.V1InvoiceItems.Update(h.ctx, item.ID, &stripe.InvoiceItemUpdateParams{Amount: stripe.Int64(2000)})
	require.NoError(t, err)
	got, err = sc.V1Invoices.Retrieve(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(2000), got.Total)

	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	_, err = sc.V1InvoiceItems.Update(h.ctx, item.ID, &stripe.InvoiceItemUpdateParams{Amount: stripe.Int64(1)})
	assert.Equal(t, stripe.ErrorCodeInvoiceNotEditable, stripeError(t, err, 400).Code)
}

// The request log counts calls per invoice, and the control endpoints expose the state of
// every account with keys redacted.
func TestControlEndpointsExposeStateWithRedactedKeys(t *testing.T) {
	h := newHarness(t, Options{ControlToken: "ctl-secret"})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	h.addLines(sc, inv.ID, amountLine(5000, "fee"))
	_, err := sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.NoError(t, err)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, inv.ID, nil)
	require.Error(t, err)
	assert.Equal(t, 2, h.sim.CountRequests("POST", "/v1/invoices/"+inv.ID+"/finalize"))
	assert.Equal(t, 1, h.sim.CountRequests("POST", "/v1/invoices"))

	resp, _ := h.raw("GET", "/_sim/invoices", "", "", nil)
	assert.Equal(t, 401, resp.StatusCode, "the control token is required")

	ctl := map[string]string{"Authorization": "Bearer ctl-secret"}
	resp, body := h.raw("GET", "/_sim/invoices?status=open", "", "", ctl)
	require.Equal(t, 200, resp.StatusCode)
	assert.NotContains(t, body, testKey)
	var list struct {
		Data []Invoice `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Data, 1)
	assert.Equal(t, "sk_test_****abcd", list.Data[0].Account)
	assert.Equal(t, int64(5000), list.Data[0].Total)

	resp, body = h.raw("GET", "/_sim/requests", "", "", ctl)
	require.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, `"path": "/v1/invoices/`+inv.ID+`/finalize"`)
	assert.NotContains(t, body, testKey)

	resp, body = h.raw("POST", "/_sim/faults", "", `{"rules":[{"path":"/v1/invoices/*/finalize","count":1}],"delay":"1ms"}`, ctl)
	require.Equal(t, 200, resp.StatusCode, body)
	second := h.draft(sc, list.Data[0].Customer)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, second.ID, nil)
	stripeError(t, err, 500)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, second.ID, nil)
	require.NoError(t, err)

	resp, _ = h.raw("POST", "/_sim/clock", "", `{"advance":"25h"}`, ctl)
	require.Equal(t, 200, resp.StatusCode)
	resp, _ = h.raw("POST", "/_sim/reset", "", "", ctl)
	require.Equal(t, 200, resp.StatusCode)
	assert.Empty(t, h.sim.Invoices())
	assert.Empty(t, h.sim.Requests())
}

// Events record every change, with previous_attributes on *.updated, as Stripe would send
// them to a webhook endpoint.
func TestEventsRecordInvoiceChanges(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	inv := h.draft(sc, h.customer(sc).ID)
	p := &stripe.InvoiceUpdateParams{Description: stripe.String("March")}
	p.SetIdempotencyKey("k-update")
	_, err := sc.V1Invoices.Update(h.ctx, inv.ID, p)
	require.NoError(t, err)
	var updated *stripe.Event
	for ev, err := range sc.V1Events.List(h.ctx, &stripe.EventListParams{Type: stripe.String("invoice.updated")}) {
		require.NoError(t, err)
		updated = ev
	}
	require.NotNil(t, updated)
	assert.Equal(t, APIVersion, updated.APIVersion)
	assert.Equal(t, "k-update", updated.Request.IdempotencyKey)
	assert.Equal(t, inv.ID, updated.GetObjectValue("id"))
	assert.Equal(t, "March", updated.GetObjectValue("description"))
	assert.Contains(t, updated.Data.PreviousAttributes, "description")
	got, err := sc.V1Events.Retrieve(h.ctx, updated.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, updated.ID, got.ID)
}

func TestRedactKeyKeepsPrefixAndLastFour(t *testing.T) {
	assert.Equal(t, "sk_test_****abcd", RedactKey("sk_test_51Habcdabcd"))
	assert.Equal(t, "sk_live_****9999", RedactKey("sk_live_0000009999"))
	assert.Equal(t, "sk_test_****", RedactKey("sk_test_ab"))
	assert.Equal(t, "****cret", RedactKey("verysecret"))
}

// A random fault rate fails a fraction of requests before they execute, reproducibly for a
// given seed.
func TestRandomFaultRateIsReproducibleForASeed(t *testing.T) {
	failures := func() []int {
		h := newHarness(t, Options{FaultSeed: 42})
		require.NoError(t, h.sim.SetFaultRate(0.5))
		var failed []int
		for i := range 40 {
			resp, body := h.raw("GET", "/v1/customers", testKey, "", nil)
			if resp.StatusCode == 500 {
				assert.Contains(t, body, `"type": "api_error"`)
				failed = append(failed, i)
			}
		}
		return failed
	}
	first := failures()
	assert.NotEmpty(t, first)
	assert.Less(t, len(first), 40)
	assert.Equal(t, first, failures())
	require.Error(t, New(Options{}).SetFaultRate(1.5))
}
