package anroksim

import (
	"context"
	"encoding/json"
	"fmt"
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

// Anrok's limit is per seller account; each sandbox key stands for one, so one busy key
// never throttles another.
func TestRateLimitIsPerAPIKey(t *testing.T) {
	s, clock := newSim(t, Options{RequestsPerSecond: 2})
	for range 2 {
		postWithKey(t, s, pathList, obj{}, "key-a").ok(t)
	}
	a := postWithKey(t, s, pathList, obj{}, "key-a")
	assert.Equal(t, http.StatusTooManyRequests, a.status)
	assert.Equal(t, "You've exceeded your API limit of 2 per second", string(a.body))
	assert.Equal(t, "1", a.header.Get("Retry-After"))

	// key-b has its own window, and throttling key-a did not use any of it.
	postWithKey(t, s, pathList, obj{}, "key-b").ok(t)
	postWithKey(t, s, pathList, obj{}, "key-b").ok(t)
	assert.Equal(t, http.StatusTooManyRequests, postWithKey(t, s, pathList, obj{}, "key-b").status)
	assert.EqualValues(t, 2, s.Throttled())

	clock.Advance(time.Second)
	postWithKey(t, s, pathList, obj{}, "key-a").ok(t)

	// A refused key is answered 401 before the limit counts anything.
	locked, _ := newSim(t, Options{RequestsPerSecond: 1, APIKey: "right"})
	for range 3 {
		assert.Equal(t, http.StatusUnauthorized, postWithKey(t, locked, pathList, obj{}, "wrong").status)
	}
	postWithKey(t, locked, pathList, obj{}, "right").ok(t)
	assert.EqualValues(t, 0, locked.Throttled())
}

func TestRateLimiterForgetsIdleKeys(t *testing.T) {
	l := newKeyedRateLimiter(1)
	for i := range maxIdleKeys + 10 {
		ok, _ := l.allow(fmt.Sprint("k", i), testNow.Add(time.Duration(i)*time.Millisecond))
		require.True(t, ok)
	}
	assert.LessOrEqual(t, len(l.keys), maxIdleKeys+10)
	later := testNow.Add(time.Hour)
	ok, _ := l.allow("fresh", later)
	assert.True(t, ok)
	l.mu.Lock()
	l.forgetIdleLocked(later.Add(2 * time.Second))
	assert.Empty(t, l.keys)
	l.mu.Unlock()
}

func TestLatencyIsAddedToEveryRequest(t *testing.T) {
	s, _ := newSim(t, Options{Latency: 60 * time.Millisecond})
	for _, key := range []string{"sk", ""} { // an accepted request and a refused one
		start := time.Now()
		postWithKey(t, s, pathList, obj{}, key)
		assert.GreaterOrEqual(t, time.Since(start), 60*time.Millisecond)
	}
	require.NoError(t, s.SetLatency(0))
	assert.Zero(t, s.FaultSettings().Latency)
	post(t, s, pathList, obj{}).ok(t)
	assert.Error(t, s.SetLatency(-time.Second))
}

func TestForcedConflictAnswersTheNextNRequests(t *testing.T) {
	s, _ := newSim(t, Options{})
	require.NoError(t, s.ForceConflict(ForcedConflict{Code: "transactionFrozenForFiling", Count: 2}))
	b := withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "t1")
	for range 2 {
		assert.Equal(t, conflictBody{Type: "transactionFrozenForFiling"}, post(t, s, pathCommit, b).conflict(t))
	}
	_, stored := s.Transaction("t1")
	assert.False(t, stored, "a forced conflict has no effect")
	post(t, s, pathCommit, b).ok(t)
	assert.EqualValues(t, 2, s.Stats().Faults)
	assert.Empty(t, s.FaultSettings().Conflicts, "a used-up rule is dropped")
}

func TestForcedConflictOnOneEndpointLeavesOthersAlone(t *testing.T) {
	s, _ := newSim(t, Options{ForcedConflicts: []ForcedConflict{{Code: "customerAddressCouldNotResolve", Endpoint: "createOrUpdate"}}})
	b := withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "t1")
	for range 3 {
		assert.Equal(t, "customerAddressCouldNotResolve", post(t, s, pathCommit, b).conflict(t).Type)
	}
	post(t, s, pathEphemeral, b).ok(t)
	post(t, s, pathList, obj{}).ok(t)

	require.NoError(t, s.ForceConflict(ForcedConflict{Code: "certificateIdNotFound", Endpoint: "certificates/get"}))
	assert.Equal(t, "certificateIdNotFound", post(t, s, pathCertGet("x"), obj{}).conflict(t).Type)
	s.ClearForcedConflicts()
	post(t, s, pathCommit, b).ok(t)

	assert.Error(t, s.ForceConflict(ForcedConflict{Code: "x", Endpoint: "nope"}))
	assert.Error(t, s.ForceConflict(ForcedConflict{Code: ""}))
	assert.Error(t, s.ForceConflict(ForcedConflict{Code: "has space"}))
	assert.Error(t, s.ForceConflict(ForcedConflict{Code: "x", Count: -1}))
	assert.Panics(t, func() { New(Options{ForcedConflicts: []ForcedConflict{{Code: "x", Endpoint: "nope"}}}) })
}

func TestParseForcedConflicts(t *testing.T) {
	got, err := ParseForcedConflicts(" externalServiceError:3, createOrUpdate=customerAddressCouldNotResolve ,transactions/void=transactionIdNotFound:1,")
	require.NoError(t, err)
	assert.Equal(t, []ForcedConflict{
		{Code: "externalServiceError", Count: 3},
		{Code: "customerAddressCouldNotResolve", Endpoint: "transactions/createOrUpdate"},
		{Code: "transactionIdNotFound", Endpoint: "transactions/void", Count: 1},
	}, got)
	none, err := ParseForcedConflicts("")
	require.NoError(t, err)
	assert.Empty(t, none)
	for _, bad := range []string{"code:0", "code:x", "nowhere=code", "=code", "a b"} {
		_, err := ParseForcedConflicts(bad)
		assert.Error(t, err, bad)
	}
}

func TestForceFrozenFreezesEveryCommittedTransactionOnCreation(t *testing.T) {
	s, _ := newSim(t, Options{FreezeOnCommit: FreezeOnCommit{All: true}})
	a := commit(t, s, "t1", line("l", ProductSaaS1, 15000))
	assert.EqualValues(t, 1, *a.Version, "the creating call succeeds")
	txn, _ := s.Transaction("t1")
	assert.True(t, txn.Frozen)
	c := post(t, s, pathCommit, withID(txnTo(denver(), line("l", ProductSaaS1, 1)), "t1")).conflict(t)
	assert.Equal(t, "transactionFrozenForFiling", c.Type)
	assert.Equal(t, "transactionFrozenForFiling", post(t, s, pathVoid("t1"), obj{}).conflict(t).Type)
	// A negation, the way to reverse a filed transaction, still works.
	post(t, s, pathNegation, obj{"originalTransactionId": "t1", "newTransactionId": "t1:neg"}).ok(t)
}

func TestForceFrozenForOneTransaction(t *testing.T) {
	s, _ := newSim(t, Options{})
	commit(t, s, "existing", line("l", ProductSaaS1, 100))
	s.SetFreezeOnCommit(FreezeOnCommit{IDs: []string{"existing", "later"}})
	txn, _ := s.Transaction("existing")
	assert.True(t, txn.Frozen, "an existing transaction is frozen at once")

	commit(t, s, "other", line("l", ProductSaaS1, 100))
	commit(t, s, "later", line("l", ProductSaaS1, 100))
	assert.Equal(t, "transactionFrozenForFiling", post(t, s, pathVoid("later"), obj{}).conflict(t).Type)
	post(t, s, pathVoid("other"), obj{}).ok(t)

	assert.Equal(t, FreezeOnCommit{All: true}, ParseFreezeOnCommit("true"))
	assert.Equal(t, FreezeOnCommit{}, ParseFreezeOnCommit("false"))
	assert.Equal(t, FreezeOnCommit{IDs: []string{"a:1", "b"}}, ParseFreezeOnCommit("a:1, b"))
}

// Reset is "back to the starting state": the configured fault settings come back, and
// ClearFaults drops them all.
func TestResetRestoresTheConfiguredFaults(t *testing.T) {
	opts := Options{
		FaultRates:      FaultRates{ServerError: 0.25},
		Latency:         time.Millisecond,
		ForcedConflicts: []ForcedConflict{{Code: "externalServiceError", Count: 1}},
		FreezeOnCommit:  FreezeOnCommit{IDs: []string{"t1"}},
	}
	s, _ := newSim(t, opts)
	want := FaultSettings{
		Rates:          opts.FaultRates,
		Latency:        time.Millisecond,
		Conflicts:      opts.ForcedConflicts,
		FreezeOnCommit: opts.FreezeOnCommit,
	}
	assert.Equal(t, want, s.FaultSettings())
	s.ClearFaults()
	assert.Equal(t, FaultSettings{}, s.FaultSettings())
	s.Reset()
	assert.Equal(t, want, s.FaultSettings())
}

func TestControlEndpointsForLatencyConflictsAndFreezing(t *testing.T) {
	s, _ := newSim(t, Options{})
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
		return rec
	}
	require.Equal(t, http.StatusNoContent, do("PUT", "/_sim/faults/latency", `{"latency":"5ms"}`).Code)
	require.Equal(t, http.StatusNoContent, do("POST", "/_sim/faults/conflicts", `{"code":"transactionIdNotFound","endpoint":"void","count":2}`).Code)
	require.Equal(t, http.StatusNoContent, do("PUT", "/_sim/faults/frozen", `{"all":true}`).Code)
	assert.JSONEq(t, `{"queued":[],"rates":{"serverError":0,"externalServiceError":0,"timeout":0},"latency":"5ms",
		"conflicts":[{"code":"transactionIdNotFound","endpoint":"transactions/void","count":2}],"freezeOnCommit":{"all":true}}`,
		do("GET", "/_sim/faults", "").Body.String())

	assert.Equal(t, http.StatusBadRequest, do("PUT", "/_sim/faults/latency", `{"latency":"soon"}`).Code)
	assert.Equal(t, http.StatusBadRequest, do("PUT", "/_sim/faults/latency", `{"latency":"-1s"}`).Code)
	assert.Equal(t, http.StatusBadRequest, do("POST", "/_sim/faults/conflicts", `{"code":"x","endpoint":"nowhere"}`).Code)
	assert.Equal(t, http.StatusBadRequest, do("PUT", "/_sim/faults/frozen", `{"every":true}`).Code)

	commit(t, s, "t1", line("l", ProductSaaS1, 100))
	txn, _ := s.Transaction("t1")
	assert.True(t, txn.Frozen)

	require.Equal(t, http.StatusNoContent, do("DELETE", "/_sim/faults/conflicts", "").Code)
	assert.Empty(t, s.FaultSettings().Conflicts)
	require.Equal(t, http.StatusNoContent, do("DELETE", "/_sim/faults", "").Code)
	assert.Equal(t, `{"queued":[],"rates":{"serverError":0,"externalServiceError":0,"timeout":0}}`, do("GET", "/_sim/faults", "").Body.String())

	_, err := s.AddCertificate(Certificate{CustomerID: "c", CustomerName: "C", EffectiveDateBegin: "2024-01-01", Jurises: []CertificateJuris{{JurisID: "us-MA"}}})
	require.NoError(t, err)
	assert.Contains(t, do("GET", "/_sim/certificates", "").Body.String(), `"id":"cert_000001"`)
}

// An injected 429 is Anrok's own: plain text with a Retry-After, nothing done. It is counted
// as a fault of its kind, not as the account going over its rate.
func TestInjectedRateLimitedAnswersAnroks429AndIsCountedByKind(t *testing.T) {
	s, _ := newSim(t, Options{})
	require.NoError(t, s.InjectFaults(Fault{Kind: FaultRateLimited}, 2))
	require.NoError(t, s.InjectFaults(Fault{Kind: FaultServerError}, 1))
	b := withID(txnTo(denver(), line("l", ProductSaaS1, 15000)), "t429")
	for range 2 {
		a := post(t, s, pathCommit, b)
		assert.Equal(t, http.StatusTooManyRequests, a.status)
		assert.Equal(t, "1", a.header.Get("Retry-After"))
		assert.True(t, strings.HasPrefix(a.header.Get("Content-Type"), "text/plain"))
	}
	assert.Equal(t, http.StatusInternalServerError, post(t, s, pathCommit, b).status)
	_, stored := s.Transaction("t429")
	assert.False(t, stored)
	post(t, s, pathCommit, b).ok(t)
	st := s.Stats()
	assert.EqualValues(t, 3, st.Faults)
	assert.EqualValues(t, 0, st.Throttled)
	assert.Equal(t, map[FaultKind]int64{FaultRateLimited: 2, FaultServerError: 1}, st.FaultsByKind)
	s.Reset()
	assert.Nil(t, s.Stats().FaultsByKind)
}
