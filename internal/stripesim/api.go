package stripesim

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxRequestBody bounds a request body. A full 250-line invoice with ten tax amounts per
// line is well under 1 MB of form data.
const maxRequestBody = 4 << 20

// handlerFunc executes one endpoint with its account locked. It returns the object to
// answer (a render struct) or an error in Stripe's shape.
type handlerFunc func(c *call) (any, *apiError)

// route is one Stripe endpoint.
type route struct {
	method, pattern string
	params          endpointParams
	expandable      []string // expand[] values the endpoint honours
	fn              handlerFunc
	raw             bool // skip parameter validation (the unrecognized-URL catch-all)
}

// call is the context of one executing request.
type call struct {
	s              *Server
	acct           *account
	r              *http.Request
	params         *param
	now            int64 // simulated Unix time, fixed for the whole request
	requestID      string
	idempotencyKey string
}

// expands reports whether the request asked to expand a property.
func (c *call) expands(property string) bool {
	return slices.Contains(c.params.get("expand").strings(), property)
}

// response is what the pipeline answers.
type response struct {
	status int
	body   []byte
	header http.Header
	// drop closes the connection instead of answering (FaultDropConnection).
	drop bool
}

// api wraps an endpoint in the pipeline every Stripe request goes through, in Stripe's order:
// authentication, rate limit, parameter decoding, idempotency, (injected latency and faults),
// parameter validation, execution, saving the idempotent response.
func (s *Server) api(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		started := time.Now()
		rec := RequestRecord{
			RequestID:      s.ids.next1("req"),
			Time:           s.now(),
			Method:         r.Method,
			Path:           r.URL.Path,
			IdempotencyKey: strings.TrimSpace(r.Header.Get("Idempotency-Key")),
		}
		resp := s.serveAPI(r, rt, &rec)
		rec.Status = resp.status
		// Record before answering: a test that reads the log right after its call returns
		// must find the call, and a dropped connection never returns here.
		s.requests.add(rec)
		s.logger.Info("stripe request",
			"method", rec.Method, "path", rec.Path, "status", rec.Status, "account", rec.Account,
			"idempotency_key", rec.IdempotencyKey, "replayed", rec.Replayed, "fault", string(rec.Fault),
			"duration", time.Since(started))
		if resp.drop {
			dropConnection(w)
			return
		}
		writeResponse(w, resp, rec.RequestID)
	}
}

func (s *Server) serveAPI(r *http.Request, rt route, rec *RequestRecord) response {
	key, authErr := s.authenticate(r)
	if authErr != nil {
		return errorResponse(authErr, rec)
	}
	acct := s.accountFor(key)
	rec.Account = acct.label

	if !acct.limiter.allow() {
		s.rateLimited.Add(1)
		return errorResponse(rateLimitError(), rec)
	}

	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
		if err != nil {
			return errorResponse(invalidParam("", "", "Could not read the request body."), rec)
		}
		if len(body) > maxRequestBody {
			return errorResponse(invalidParam("", "", "The request body is too large."), rec)
		}
		raw = string(body)
	}
	params, perr := parseParams(raw)
	if perr != nil {
		return errorResponse(perr, rec)
	}

	// Stripe honours idempotency keys on POST only; stripe-go also sends one with DELETE,
	// where Stripe ignores it.
	idemKey := ""
	if r.Method == http.MethodPost && rec.IdempotencyKey != "" {
		idemKey = rec.IdempotencyKey
		if len(idemKey) > maxIdempotencyKeyLength {
			return errorResponse(idempotencyKeyTooLong(), rec)
		}
		fingerprint := r.Method + " " + r.URL.Path + "\n" + params.canonical()
		outcome, saved := acct.idem.begin(idemKey, fingerprint, rec.RequestID, rec.Time)
		switch outcome {
		case idemConflict:
			return errorResponse(idempotencyMismatch(idemKey), rec)
		case idemInFlight:
			return errorResponse(idempotencyInUse(), rec)
		case idemReplay:
			rec.Replayed = true
			resp := response{status: saved.status, body: saved.body, header: http.Header{}}
			resp.header.Set("Idempotent-Replayed", "true")
			resp.header.Set("Original-Request", saved.requestID)
			resp.header.Set("Idempotency-Key", idemKey)
			noteOutcome(rec, resp.body)
			return resp
		}
	}
	// From here on a reserved key must be either saved or released.
	release := func() {
		if idemKey != "" {
			acct.idem.release(idemKey)
		}
	}

	if d := s.faults.currentDelay(); d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			release()
			return errorResponse(internalError(), rec) // the client is gone; nobody reads this
		}
	}

	fault := s.faults.pick(r.Method, r.URL.Path)
	if fault != nil {
		switch fault.mode {
		case FaultBeforeExecute:
			release()
			rec.Fault = fault.mode
			e := internalError()
			e.Status = fault.status
			return errorResponse(e, rec)
		case FaultRateLimited:
			release()
			rec.Fault = fault.mode
			return errorResponse(rateLimitError(), rec)
		case FaultTimeout:
			// Slow: the client gives up first (or the hold ends); the request executes all
			// the same, below, and its answer reaches nobody.
			hold := time.NewTimer(fault.hold)
			select {
			case <-hold.C:
			case <-r.Context().Done():
				hold.Stop()
			}
		}
	}

	if !rt.raw {
		if e := rt.params.validate(params); e != nil {
			release()
			return errorResponse(e, rec)
		}
		for _, property := range params.get("expand").strings() {
			if !slices.Contains(rt.expandable, property) {
				release()
				return errorResponse(invalidParam("", "expand", "This property cannot be expanded (%s).", property), rec)
			}
		}
	}

	acct.mu.Lock()
	c := &call{s: s, acct: acct, r: r, params: params, now: rec.Time, requestID: rec.RequestID, idempotencyKey: idemKey}
	obj, herr := rt.fn(c)
	acct.mu.Unlock()

	var resp response
	if herr != nil {
		if herr.beforeExecution {
			release()
			return errorResponse(herr, rec)
		}
		resp = errorResponse(herr, rec)
	} else {
		resp = response{status: http.StatusOK, body: mustJSON(obj), header: http.Header{}}
		noteOutcome(rec, resp.body)
	}
	if idemKey != "" {
		acct.idem.finish(idemKey, resp.status, resp.body)
		resp.header.Set("Idempotency-Key", idemKey)
		resp.header.Set("Original-Request", rec.RequestID)
	}

	if fault != nil {
		rec.Fault = fault.mode
		if fault.mode == FaultDropConnection || fault.mode == FaultTimeout {
			return response{status: 0, drop: true}
		}
		e := internalError()
		e.Status = fault.status
		return errorResponse(e, rec)
	}
	return resp
}

// authenticate extracts and checks the secret key. Stripe accepts it as a bearer token or as
// the Basic-auth user name (curl -u sk_test_...:).
func (s *Server) authenticate(r *http.Request) (string, *apiError) {
	key := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		key = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	} else if user, _, ok := r.BasicAuth(); ok {
		key = user
	}
	if key == "" {
		return "", newError(http.StatusUnauthorized, errTypeInvalidRequest, "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, "+
				"using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). "+
				"See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.")
	}
	valid := strings.HasPrefix(key, "sk_test_") && len(key) > len("sk_test_")
	if s.opts.APIKey != "" {
		valid = key == s.opts.APIKey
	}
	if !valid {
		// The key is echoed redacted only: error bodies end up in logs.
		return "", newError(http.StatusUnauthorized, errTypeInvalidRequest, "", "",
			"Invalid API Key provided: "+RedactKey(key))
	}
	return key, nil
}

// rateLimitError is Stripe's 429. Stripe sends no Retry-After with it: clients back off
// exponentially on their own.
func rateLimitError() *apiError {
	e := newError(http.StatusTooManyRequests, errTypeInvalidRequest, "rate_limit", "",
		"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.")
	e.header = map[string]string{"Stripe-Rate-Limited-Reason": "global-rate"}
	return e
}

func errorResponse(e *apiError, rec *RequestRecord) response {
	rec.ErrorType, rec.ErrorCode = e.Type, e.Code
	resp := response{status: e.Status, body: mustJSON(errorBody{Error: e}), header: http.Header{}}
	for k, v := range e.header {
		resp.header.Set(k, v)
	}
	return resp
}

// noteOutcome copies the id of the answered object, or the error, into the request record.
func noteOutcome(rec *RequestRecord, body []byte) {
	var probe struct {
		ID    string `json:"id"`
		Error *struct {
			Type string `json:"type"`
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &probe) == nil {
		rec.ObjectID = probe.ID
		if probe.Error != nil {
			rec.ErrorType, rec.ErrorCode = probe.Error.Type, probe.Error.Code
		}
	}
}

func writeResponse(w http.ResponseWriter, resp response, requestID string) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", requestID)
	h.Set("Stripe-Version", APIVersion)
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// dropConnection closes the client's connection without an answer, when the server lets us.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 cannot be hijacked: abort the handler, which resets the stream.
	panic(http.ErrAbortHandler)
}

// mustJSON renders a response body. Every body is built from the simulator's own types, so a
// marshalling failure is a programming error.
func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic("stripesim: cannot render response: " + err.Error())
	}
	return append(b, '\n')
}
