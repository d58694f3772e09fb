package stripesim

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

func createWithKey(sc *stripe.Client, h *harness, customerID, key string, md map[string]string) (*stripe.Invoice, error) {
	p := &stripe.InvoiceCreateParams{Customer: stripe.String(customerID), Metadata: md}
	p.SetIdempotencyKey(key)
	return sc.V1Invoices.Create(h.ctx, p)
}

func (h *harness) invoiceCount() int { return len(h.sim.Invoices()) }

// The same key with the same request answers the first response again, marked
// Idempotent-Replayed, and creates nothing new.
func TestIdempotentRequestIsReplayed(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	first, err := createWithKey(sc, h, cus.ID, "wf-inv_1-create", map[string]string{"taxflow_invoice_id": "inv_1"})
	require.NoError(t, err)
	again, err := createWithKey(sc, h, cus.ID, "wf-inv_1-create", map[string]string{"taxflow_invoice_id": "inv_1"})
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, "true", again.LastResponse.Header.Get("Idempotent-Replayed"))
	assert.Empty(t, first.LastResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.LastResponse.RequestID, again.LastResponse.Header.Get("Original-Request"))
	assert.Equal(t, 1, h.invoiceCount())

	// Errors raised while executing are saved too: the replay answers the same error.
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, first.ID, nil)
	require.NoError(t, err)
	p := &stripe.InvoiceFinalizeInvoiceParams{}
	p.SetIdempotencyKey("wf-inv_1-finalize-again")
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, first.ID, p)
	stripeError(t, err, 400)
	_, err = sc.V1Invoices.FinalizeInvoice(h.ctx, first.ID, p)
	se := stripeError(t, err, 400)
	assert.Equal(t, "true", se.LastResponse.Header.Get("Idempotent-Replayed"))

	replayed := 0
	for _, r := range h.sim.Requests() {
		if r.Replayed {
			replayed++
		}
	}
	assert.Equal(t, 2, replayed)
}

// The same key with different parameters, or on another endpoint, is an idempotency_error.
func TestIdempotencyKeyReusedWithDifferentParametersIsIdempotencyError(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	_, err := createWithKey(sc, h, cus.ID, "k1", map[string]string{"taxflow_invoice_id": "inv_1"})
	require.NoError(t, err)
	_, err = createWithKey(sc, h, cus.ID, "k1", map[string]string{"taxflow_invoice_id": "inv_2"})
	se := stripeError(t, err, 400)
	assert.Equal(t, stripe.ErrorTypeIdempotency, se.Type)
	assert.Contains(t, se.Msg, "Keys for idempotent requests can only be used with the same parameters")
	var idem *stripe.IdempotencyError
	assert.ErrorAs(t, err, &idem)

	cp := &stripe.CustomerCreateParams{Name: stripe.String("x")}
	cp.SetIdempotencyKey("k1")
	_, err = sc.V1Customers.Create(h.ctx, cp)
	assert.Equal(t, stripe.ErrorTypeIdempotency, stripeError(t, err, 400).Type)
	assert.Equal(t, 1, h.invoiceCount())

	// Keys belong to an account: another account may use the same key for anything.
	other := h.client("sk_test_other_account_9999")
	ocus := h.customer(other)
	_, err = createWithKey(other, h, ocus.ID, "k1", map[string]string{"taxflow_invoice_id": "inv_2"})
	require.NoError(t, err)
}

// Parameters are compared by value: expand[] and expand[0], or a different order, are the
// same request.
func TestIdempotencyComparesParametersNotTheirSpelling(t *testing.T) {
	h := newHarness(t, Options{})
	cus := h.customer(h.client(testKey))
	hdr := map[string]string{"Idempotency-Key": "spelling"}
	r1, _ := h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID+"&metadata[a]=1&expand[]=customer", hdr)
	require.Equal(t, 200, r1.StatusCode)
	r2, _ := h.raw("POST", "/v1/invoices", testKey, "expand[0]=customer&metadata[a]=1&customer="+cus.ID, hdr)
	require.Equal(t, 200, r2.StatusCode)
	assert.Equal(t, "true", r2.Header.Get("Idempotent-Replayed"))
}

// Stripe limits idempotency keys to 255 characters (stripe-go refuses longer ones itself).
func TestIdempotencyKeyLongerThan255CharactersIsRefused(t *testing.T) {
	h := newHarness(t, Options{})
	cus := h.customer(h.client(testKey))
	resp, body := h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID,
		map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
	assert.Equal(t, 400, resp.StatusCode)
	assert.Contains(t, body, "invalid_request_error")
	assert.Equal(t, 0, h.invoiceCount())
	resp, _ = h.raw("POST", "/v1/invoices", testKey, "customer="+cus.ID,
		map[string]string{"Idempotency-Key": strings.Repeat("k", 255)})
	assert.Equal(t, 200, resp.StatusCode)
}

// A request that fails validation saves nothing under its key: retrying with the corrected
// parameters executes.
func TestRequestFailingValidationSavesNoIdempotentResult(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	bad := &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice")}
	bad.SetIdempotencyKey("k-validate")
	_, err := sc.V1Invoices.Create(h.ctx, bad)
	stripeError(t, err, 400)
	good := &stripe.InvoiceCreateParams{Customer: stripe.String(cus.ID), CollectionMethod: stripe.String("send_invoice"), DaysUntilDue: stripe.Int64(30)}
	good.SetIdempotencyKey("k-validate")
	_, err = sc.V1Invoices.Create(h.ctx, good)
	require.NoError(t, err)
}

// Two requests with one key at the same time do not both execute: the second is refused with
// 409 idempotency_key_in_use while the first runs, and replayed afterwards.
func TestConcurrentRequestsWithSameKeyDoNotBothExecute(t *testing.T) {
	h := newHarness(t, Options{})
	cus := h.customer(h.client(testKey))
	h.sim.SetDelay(500 * time.Millisecond)
	body := "customer=" + cus.ID
	hdr := map[string]string{"Idempotency-Key": "concurrent"}

	var wg sync.WaitGroup
	statuses := make([]int, 2)
	bodies := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				time.Sleep(100 * time.Millisecond) // arrive while the first is executing
			}
			resp, b := h.raw("POST", "/v1/invoices", testKey, body, hdr)
			statuses[i], bodies[i] = resp.StatusCode, b
		}()
	}
	wg.Wait()
	assert.Equal(t, []int{200, http.StatusConflict}, statuses)
	assert.Contains(t, bodies[1], `"code": "idempotency_key_in_use"`)
	assert.Equal(t, 1, h.invoiceCount())

	h.sim.SetDelay(0)
	resp, _ := h.raw("POST", "/v1/invoices", testKey, body, hdr)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, 1, h.invoiceCount())
}

// Stripe keeps keys for 24 hours; after that the same key executes again. taxflow must stay
// correct when that happens (it finds its invoice by metadata instead).
func TestIdempotencyKeysAreForgottenAfter24Hours(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	md := map[string]string{"taxflow_invoice_id": "inv_1"}
	first, err := createWithKey(sc, h, cus.ID, "k-day", md)
	require.NoError(t, err)
	h.sim.AdvanceClock(23 * time.Hour)
	again, err := createWithKey(sc, h, cus.ID, "k-day", md)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	h.sim.AdvanceClock(time.Hour + time.Second)
	later, err := createWithKey(sc, h, cus.ID, "k-day", md)
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, later.ID)
	assert.Equal(t, 2, h.invoiceCount())

	h.sim.ForgetIdempotencyKeys()
	_, err = createWithKey(sc, h, cus.ID, "k-day", md)
	require.NoError(t, err)
	assert.Equal(t, 3, h.invoiceCount())
}

// A response lost after the write happened (a 500 or a dropped connection) leaves the write
// in place; retrying with the same key replays it instead of writing twice.
func TestLostResponseRetriedWithSameKeyDoesNotDuplicate(t *testing.T) {
	for _, mode := range []FaultMode{FaultAfterExecute, FaultDropConnection} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, Options{})
			// Without keep-alive: Go's transport silently resends a request carrying an
			// Idempotency-Key when a reused connection dies, which would hide the lost response.
			sc := h.clientWith(testKey, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
			cus := h.customer(sc)
			require.NoError(t, h.sim.InjectFault(FaultRule{Method: "POST", Path: "/v1/invoices", Count: 1, Mode: mode}))
			_, err := createWithKey(sc, h, cus.ID, "k-lost", nil)
			require.Error(t, err)
			if mode == FaultAfterExecute {
				se := stripeError(t, err, 500)
				assert.Equal(t, stripe.ErrorTypeAPI, se.Type)
			}
			require.Equal(t, 1, h.invoiceCount(), "the write happened")
			inv, err := createWithKey(sc, h, cus.ID, "k-lost", nil)
			require.NoError(t, err)
			assert.Equal(t, "true", inv.LastResponse.Header.Get("Idempotent-Replayed"))
			assert.Equal(t, 1, h.invoiceCount())
		})
	}
}

// A fault before execution changes nothing: the retry executes for the first time.
func TestFaultBeforeExecutionLeavesNoTrace(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	require.NoError(t, h.sim.FailNext(2, FaultBeforeExecute))
	for range 2 {
		_, err := createWithKey(sc, h, cus.ID, "k-before", nil)
		stripeError(t, err, 500)
	}
	assert.Equal(t, 0, h.invoiceCount())
	inv, err := createWithKey(sc, h, cus.ID, "k-before", nil)
	require.NoError(t, err)
	assert.Empty(t, inv.LastResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, int64(2), h.sim.Faults().Injected)
}
