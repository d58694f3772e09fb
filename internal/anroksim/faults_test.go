package anroksim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Anrok allows N requests per second per seller account, shared by every endpoint; over
// it, a text/plain 429 with Retry-After in seconds.
func TestRateLimitIsSharedByAllEndpointsAndAnswers429WithRetryAfter(t *testing.T) {
	s, clock := newSim(t, Options{RequestsPerSecond: 3})
	post(t, s, pathEphemeral, txnTo(denver(), line("l", ProductSaaS1, 1))).ok(t)
	post(t, s, pathList, obj{}).ok(t)
	clock.Advance(500 * time.Millisecond)
	post(t, s, pathVoid("missing"), obj{}).conflict(t)

	a := post(t, s, pathEphemeral, txnTo(denver(), line("l", ProductSaaS1, 1)))
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Equal(t, "You've exceeded your API limit of 3 per second", string(a.body))
	assert.True(t, strings.HasPrefix(a.header.Get("Content-Type"), "text/plain"))
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	assert.EqualValues(t, 1, s.Throttled())

	// The window slides: a second after the first two requests, two more are allowed,
	// while the one made half a second later still counts.
	clock.Advance(500 * time.Millisecond)
	post(t, s, pathList, obj{}).ok(t)
	post(t, s, pathList, obj{}).ok(t)
	assert.Equal(t, http.StatusTooManyRequests, post(t, s, pathList, obj{}).status)
	assert.EqualValues(t, 2, s.Throttled())
	assert.EqualValues(t, Stats{Requests: 7, Throttled: 2}, s.Stats())
}

func TestRateLimitNeverAllowsMoreThanNInAnySecond(t *testing.T) {
	l := newRateLimiter(10)
	start := testNow
	var allowed []time.Time
	for i := 0; i < 300; i++ {
		now := start.Add(time.Duration(i) * 37 * time.Millisecond)
		if ok, wait := l.allow(now); ok {
			allowed = append(allowed, now)
		} else {
			assert.Greater(t, wait, time.Duration(0))
			assert.LessOrEqual(t, wait, time.Second)
		}
	}
	for i := range allowed {
		inWindow := 0
		for j := i; j < len(allowed) && allowed[j].Sub(allowed[i]) < time.Second; j++ {
			inWindow++
		}
		assert.LessOrEqual(t, inWindow, 10)
	}
}

func TestInjectedServerErrorsAnswer500ThenRecover(t *testing.T) {
	s, _ := newSim(t, Options{})
	require.NoError(t, s.InjectFaults(Fault{Kind: FaultServerError}, 2))
	b := withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "t1")
	assert.Equal(t, http.StatusInternalServerError, post(t, s, pathCommit, b).status)
	assert.Equal(t, http.StatusInternalServerError, post(t, s, pathCommit, b).status)
	_, stored := s.Transaction("t1")
	assert.False(t, stored, "a failed call has no effect")
	post(t, s, pathCommit, b).ok(t)
	assert.EqualValues(t, 2, s.Stats().Faults)
}

func TestInjectedExternalServiceErrorIsA409(t *testing.T) {
	s, _ := newSim(t, Options{})
	require.NoError(t, s.InjectFaults(Fault{Kind: FaultExternalServiceError}, 1))
	assert.Equal(t, conflictBody{Type: "externalServiceError"}, post(t, s, pathEphemeral, txnTo(denver())).conflict(t))
	post(t, s, pathEphemeral, txnTo(denver())).ok(t)
}

// A delayed answer makes the client time out, but the request is still served: the
// client cannot know whether its call took effect.
func TestDelayedRequestIsServedAfterTheClientGivesUp(t *testing.T) {
	s, _ := newSim(t, Options{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	require.NoError(t, s.InjectFaults(Fault{Kind: FaultDelay, Delay: 5 * time.Second}, 1))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	body, _ := json.Marshal(withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "slow"))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+pathCommit, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer k")
	start := time.Now()
	_, err := http.DefaultClient.Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	require.Eventually(t, func() bool { _, ok := s.Transaction("slow"); return ok }, 2*time.Second, 10*time.Millisecond)
	assert.Less(t, time.Since(start), 3*time.Second, "the simulator stops waiting once the client has gone")
}

func TestInvalidFaultsAreRefused(t *testing.T) {
	s, _ := newSim(t, Options{})
	assert.Error(t, s.InjectFaults(Fault{Kind: FaultDelay}, 1))
	assert.Error(t, s.InjectFaults(Fault{Kind: "meteor"}, 1))
	assert.Error(t, s.InjectFaults(Fault{Kind: FaultServerError}, 0))
	assert.Error(t, s.SetFaultRates(FaultRates{ServerError: 0.7, Timeout: 0.5}))
	assert.Error(t, s.SetFaultRates(FaultRates{ServerError: -0.1}))
}

// A chaos run replays: the same seed draws the same faults.
func TestRandomFaultsFollowTheSeed(t *testing.T) {
	draw := func(seed uint64) []int {
		s, _ := newSim(t, Options{Seed: seed})
		require.NoError(t, s.SetFaultRates(FaultRates{ServerError: 0.3, ExternalServiceError: 0.2}))
		var statuses []int
		for i := 0; i < 200; i++ {
			statuses = append(statuses, post(t, s, pathList, obj{}).status)
		}
		return statuses
	}
	a, b := draw(7), draw(7)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, draw(8))

	counts := map[int]int{}
	for _, st := range a {
		counts[st]++
	}
	// 200 draws at 30% / 20%: well within these bounds for any seed.
	assert.InDelta(t, 60, counts[http.StatusInternalServerError], 30)
	assert.InDelta(t, 40, counts[http.StatusConflict], 25)
	assert.InDelta(t, 100, counts[http.StatusOK], 35)
}

func TestControlEndpoints(t *testing.T) {
	s, _ := newSim(t, Options{ControlToken: "ctl"})
	commit(t, s, "stripe:in_1", line("l", ProductSaaS1, 15000))

	do := func(method, path, body, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	assert.Equal(t, http.StatusUnauthorized, do("GET", "/_sim/transactions", "", "").Code)
	assert.Equal(t, http.StatusUnauthorized, do("GET", "/_sim/transactions", "", "sk_anrok_key").Code)

	rec := do("GET", "/_sim/transactions", "", "ctl")
	require.Equal(t, http.StatusOK, rec.Code)
	var all struct{ Transactions []Transaction }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &all))
	require.Len(t, all.Transactions, 1)
	assert.Equal(t, "stripe:in_1", all.Transactions[0].ID)
	assert.Equal(t, StatusCommitted, all.Transactions[0].Status)
	assert.Equal(t, "15000", all.Transactions[0].PreTaxAmount.String())

	assert.Equal(t, http.StatusOK, do("GET", "/_sim/transactions/stripe:in_1", "", "ctl").Code)
	assert.Equal(t, http.StatusNotFound, do("GET", "/_sim/transactions/nope", "", "ctl").Code)

	require.Equal(t, http.StatusOK, do("POST", "/_sim/transactions/stripe:in_1/freeze", "", "ctl").Code)
	txn, _ := s.Transaction("stripe:in_1")
	assert.True(t, txn.Frozen)

	require.Equal(t, http.StatusNoContent, do("POST", "/_sim/faults", `{"kind":"delay","count":2,"delay":"150ms"}`, "ctl").Code)
	require.Equal(t, http.StatusNoContent, do("PUT", "/_sim/faults/rates", `{"serverError":0.1,"timeout":0.05,"timeoutDelay":"35s"}`, "ctl").Code)
	rec = do("GET", "/_sim/faults", "", "ctl")
	assert.JSONEq(t, `{"queued":[{"kind":"delay","delay":"150ms"},{"kind":"delay","delay":"150ms"}],
		"rates":{"serverError":0.1,"externalServiceError":0,"timeout":0.05,"timeoutDelay":"35s"}}`, rec.Body.String())
	assert.Equal(t, http.StatusBadRequest, do("POST", "/_sim/faults", `{"kind":"delay"}`, "ctl").Code)
	assert.Equal(t, http.StatusBadRequest, do("PUT", "/_sim/faults/rates", `{"serverError":2}`, "ctl").Code)
	require.Equal(t, http.StatusNoContent, do("DELETE", "/_sim/faults", "", "ctl").Code)
	queued, rates := s.PendingFaults()
	assert.Empty(t, queued)
	assert.Zero(t, rates)

	require.Equal(t, http.StatusNoContent, do("POST", "/_sim/customers", `{"id":"cus_9","name":"Initech"}`, "ctl").Code)
	rec = do("GET", "/_sim/products", "", "ctl")
	assert.Contains(t, rec.Body.String(), `"externalId":"not-taxable-3"`)

	rec = do("GET", "/_sim/stats", "", "ctl")
	assert.JSONEq(t, `{"requests":1,"throttled":0,"faults":0}`, rec.Body.String())

	require.Equal(t, http.StatusNoContent, do("POST", "/_sim/reset", "", "ctl").Code)
	assert.Empty(t, s.Transactions())
	assert.Equal(t, Stats{}, s.Stats())
}

func TestControlEndpointsAreOpenWithoutAControlToken(t *testing.T) {
	s, _ := newSim(t, Options{APIKey: "only-this"})
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/_sim/stats", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
}

func TestInvalidOptionsPanicInNew(t *testing.T) {
	assert.Error(t, Options{RequestsPerSecond: -1}.Validate())
	assert.Error(t, Options{SellerTimeZone: "Nowhere/Land"}.Validate())
	assert.Panics(t, func() { New(Options{SellerTimeZone: "Nowhere/Land"}) })
	assert.NoError(t, Options{SellerTimeZone: "Europe/Berlin", RequestsPerSecond: 10}.Validate())
}
