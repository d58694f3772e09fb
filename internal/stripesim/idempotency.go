package stripesim

import (
	"net/http"
	"sync"
	"time"
)

// Stripe's idempotency rules, as the simulator enforces them per account:
//   - a key may be at most 255 characters;
//   - the first response to a POST with a key is saved and replayed, with the header
//     Idempotent-Replayed: true, to every later POST with the same key and the same
//     parameters (method, path and parameter values);
//   - the same key with different parameters is a 400 idempotency_error;
//   - a request that fails parameter validation saves nothing, because no endpoint began
//     executing;
//   - keys are kept for at least 24 hours — the simulator forgets them after exactly 24 hours
//     of its own clock, so tests can prove a flow survives Stripe forgetting a key;
//   - a request whose key is still being executed by another request is refused with
//     409 idempotency_key_in_use rather than queued (the simulator's choice between Stripe's
//     two documented outcomes: it keeps the concurrent-retry path visible to tests).
const (
	maxIdempotencyKeyLength = 255
	idempotencyRetention    = 24 * time.Hour
)

// idempotencyRecord is one key's saved request and, once executed, its response.
type idempotencyRecord struct {
	fingerprint string // method, path and canonical parameters
	savedAt     int64  // simulated Unix time the key was first used
	inFlight    bool
	status      int
	body        []byte
	requestID   string // the original request's id, sent back as Original-Request
}

type idempotencyStore struct {
	mu      sync.Mutex
	records map[string]*idempotencyRecord
	order   []string // keys in first-use order, for expiry
}

func newIdempotencyStore() *idempotencyStore {
	return &idempotencyStore{records: map[string]*idempotencyRecord{}}
}

// idempotencyOutcome says what to do with a request carrying a key.
type idempotencyOutcome int

const (
	idemExecute  idempotencyOutcome = iota // a new key: execute, then save
	idemReplay                             // answer the saved response
	idemConflict                           // same key, different parameters
	idemInFlight                           // same key still executing elsewhere
)

// begin looks a key up and, for a new key, reserves it for this request.
func (st *idempotencyStore) begin(key, fingerprint, requestID string, now int64) (idempotencyOutcome, *idempotencyRecord) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire(now)
	if rec, ok := st.records[key]; ok {
		switch {
		case rec.fingerprint != fingerprint:
			return idemConflict, rec
		case rec.inFlight:
			return idemInFlight, rec
		default:
			return idemReplay, rec
		}
	}
	rec := &idempotencyRecord{fingerprint: fingerprint, savedAt: now, inFlight: true, requestID: requestID}
	st.records[key] = rec
	st.order = append(st.order, key)
	return idemExecute, rec
}

// finish saves the response of a reserved key.
func (st *idempotencyStore) finish(key string, status int, body []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rec, ok := st.records[key]; ok {
		rec.inFlight, rec.status, rec.body = false, status, body
	}
}

// release drops a reserved key without saving anything, so that the next request with it
// executes afresh (the request failed validation or never reached the endpoint).
func (st *idempotencyStore) release(key string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if rec, ok := st.records[key]; ok && rec.inFlight {
		delete(st.records, key)
	}
}

// forgetAll drops every saved key, as Stripe does after the retention period.
func (st *idempotencyStore) forgetAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for k, rec := range st.records {
		if !rec.inFlight {
			delete(st.records, k)
		}
	}
}

// expire forgets keys older than the retention period. Keys are checked oldest first and the
// scan stops at the first one still retained, so the cost is proportional to what expires.
func (st *idempotencyStore) expire(now int64) {
	cutoff := now - int64(idempotencyRetention/time.Second)
	i := 0
	for ; i < len(st.order); i++ {
		rec, ok := st.records[st.order[i]]
		if !ok {
			continue // released, or forgotten by forgetAll
		}
		if rec.savedAt > cutoff || rec.inFlight {
			break
		}
		delete(st.records, st.order[i])
	}
	st.order = st.order[i:]
}

// idempotencyErrors are the answers to key misuse, in Stripe's words.
func idempotencyMismatch(key string) *apiError {
	return newError(http.StatusBadRequest, errTypeIdempotency, "", "",
		"Keys for idempotent requests can only be used with the same parameters they were first used with. "+
			"Try using a key other than '"+key+"' if you meant to execute a different request.")
}

func idempotencyInUse() *apiError {
	e := newError(http.StatusConflict, errTypeInvalidRequest, "idempotency_key_in_use", "",
		"There is currently another in-progress request using this idempotency key. "+
			"Wait for it to complete before retrying with the same key.")
	// Stripe marks lock conflicts as safe to retry.
	e.header = map[string]string{"Stripe-Should-Retry": "true"}
	return e
}

func idempotencyKeyTooLong() *apiError {
	e := newError(http.StatusBadRequest, errTypeInvalidRequest, "", "",
		"Idempotency keys can be at most 255 characters long.")
	e.beforeExecution = true
	return e
}
