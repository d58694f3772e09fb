package stripesim

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82"
)

// A timeout: Stripe is slow, the client gives up, and the write happens all the same. A
// retry under the same key replays the saved answer; the write is there once.
func TestTimeoutFaultExecutesAfterTheClientGaveUp(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.clientWith(testKey, &http.Client{Timeout: 200 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}})
	cus := h.customer(h.client(testKey))
	require.NoError(t, h.sim.InjectFault(FaultRule{Method: "POST", Path: "/v1/invoices", Count: 1, Mode: FaultTimeout, Hold: Duration(10 * time.Second)}))
	started := time.Now()
	_, err := createWithKey(sc, h, cus.ID, "k-timeout", nil)
	require.Error(t, err)
	assert.Less(t, time.Since(started), 5*time.Second, "the client's own timeout ended the call")
	require.Eventually(t, func() bool { return h.invoiceCount() == 1 }, 5*time.Second, 10*time.Millisecond, "the write happened")
	// The write is visible a moment before the first request has saved its answer under the
	// key: a retry in that moment gets Stripe's 409 idempotency_key_in_use, as it would from
	// Stripe, and a client tries again.
	var inv *stripe.Invoice
	require.Eventually(t, func() bool {
		inv, err = createWithKey(h.client(testKey), h, cus.ID, "k-timeout", nil)
		var se *stripe.Error
		return !errors.As(err, &se) || se.Code != "idempotency_key_in_use"
	}, 5*time.Second, 10*time.Millisecond, "the first request finished")
	require.NoError(t, err)
	assert.Equal(t, "true", inv.LastResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, 1, h.invoiceCount())
	assert.Equal(t, int64(1), h.sim.Faults().InjectedByMode[FaultTimeout])
}

// An injected 429 is Stripe's rate_limit error, and nothing executes.
func TestRateLimitedFaultAnswersStripes429WithoutExecuting(t *testing.T) {
	h := newHarness(t, Options{})
	sc := h.client(testKey)
	cus := h.customer(sc)
	require.NoError(t, h.sim.InjectFault(FaultRule{Count: 3, Mode: FaultRateLimited}))
	for range 3 {
		_, err := createWithKey(sc, h, cus.ID, "k-429", nil)
		se := stripeError(t, err, http.StatusTooManyRequests)
		assert.Equal(t, stripe.ErrorCodeRateLimit, se.Code)
	}
	assert.Equal(t, 0, h.invoiceCount())
	_, err := createWithKey(sc, h, cus.ID, "k-429", nil)
	require.NoError(t, err)
	f := h.sim.Faults()
	assert.Equal(t, int64(3), f.InjectedByMode[FaultRateLimited])
	assert.Equal(t, int64(3), f.Injected)
	assert.Equal(t, int64(0), h.sim.RateLimitedCount(), "injected 429s are not the account's own rate limit")
}

// Random faults of every mode are drawn from the seeded generator and counted by mode.
func TestRandomFaultsOfEachModeAreCountedByMode(t *testing.T) {
	h := newHarness(t, Options{FaultSeed: 7})
	sc := h.clientWith(testKey, &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}})
	require.Error(t, h.sim.SetRandomFaults(RandomFaults{BeforeExecute: 0.6, AfterExecute: 0.6}), "rates over 1 in all")
	require.NoError(t, h.sim.SetRandomFaults(RandomFaults{BeforeExecute: 0.2, AfterExecute: 0.2, DropConnection: 0.2, Timeout: 0.2, TimeoutHold: Duration(time.Second)}))
	const n = 60
	for range n {
		_, _ = sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Name: stripe.String("x")})
	}
	f := h.sim.Faults()
	var sum int64
	for _, mode := range []FaultMode{FaultBeforeExecute, FaultAfterExecute, FaultDropConnection, FaultTimeout} {
		assert.Positive(t, f.InjectedByMode[mode], mode)
		sum += f.InjectedByMode[mode]
	}
	assert.Equal(t, f.Injected, sum)
	assert.Less(t, sum, int64(n))
	h.sim.ClearFaults()
	assert.Equal(t, sum, h.sim.Faults().Injected, "the counts stay when faults are turned off")
	_, _ = sc.V1Customers.Create(h.ctx, &stripe.CustomerCreateParams{Name: stripe.String("x")})
	assert.Equal(t, sum, h.sim.Faults().Injected, "no fault after ClearFaults")
	h.sim.Reset()
	assert.Zero(t, h.sim.Faults().Injected)
}
