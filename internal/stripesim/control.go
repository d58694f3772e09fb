package stripesim

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// routes wires Stripe's API and the simulator's control endpoints.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	var all []route
	for _, group := range [][]route{
		s.customerRoutes(), s.catalogRoutes(), s.taxRateRoutes(), s.invoiceRoutes(), s.invoiceItemRoutes(), s.eventRoutes(),
		s.paymentRoutes(), s.creditNoteRoutes(),
	} {
		all = append(all, group...)
	}
	for _, rt := range all {
		mux.HandleFunc(rt.method+" "+rt.pattern, s.api(rt))
	}
	// Anything else is answered like Stripe answers an unknown URL (after authentication,
	// as Stripe does).
	mux.HandleFunc("/", s.api(route{raw: true, fn: func(c *call) (any, *apiError) {
		return nil, unrecognizedURL(c.r.Method, c.r.URL.Path)
	}}))

	control := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(pattern, s.controlAuth(h))
	}
	control("GET /_sim/invoices", s.controlInvoices)
	control("GET /_sim/invoices/{id}", s.controlInvoice)
	control("GET /_sim/requests", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, map[string]any{"data": s.Requests()})
	})
	control("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, s.Faults())
	})
	control("POST /_sim/faults", s.controlSetFaults)
	control("DELETE /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.ClearFaults()
		writeControl(w, http.StatusOK, s.Faults())
	})
	control("POST /_sim/clock", s.controlClock)
	control("POST /_sim/idempotency/forget", func(w http.ResponseWriter, _ *http.Request) {
		s.ForgetIdempotencyKeys()
		writeControl(w, http.StatusOK, map[string]any{"forgotten": true})
	})
	control("POST /_sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		writeControl(w, http.StatusOK, map[string]any{"reset": true})
	})
	control("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, map[string]any{
			"accounts": len(s.allAccounts()), "rate_limited": s.RateLimitedCount(),
			"faults_injected": s.Faults().Injected, "faults_by_mode": s.Faults().InjectedByMode,
			"requests_logged": len(s.Requests()), "now": s.now(),
		})
	})
	control("GET /_sim/webhooks", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, s.webhookSettings())
	})
	control("PUT /_sim/webhooks", s.controlSetWebhook)
	control("GET /_sim/webhooks/deliveries", s.controlDeliveries)
	control("POST /_sim/webhooks/flush", s.controlFlush)
	control("GET /_sim/automatic_tax", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, s.AutomaticTax())
	})
	control("PUT /_sim/automatic_tax", s.controlAutomaticTax)
	control("POST /_sim/invoices/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		if !decodeOptional(w, r, &struct{}{}) {
			return
		}
		p, err := s.PayInvoice(r.PathValue("id"))
		writeControlResult(w, p, err)
	})
	control("POST /_sim/invoices/{id}/fail_payment", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			DeclineCode string `json:"decline_code"`
		}
		if !decodeOptional(w, r, &req) {
			return
		}
		p, err := s.FailInvoicePayment(r.PathValue("id"), req.DeclineCode)
		writeControlResult(w, p, err)
	})
	control("POST /_sim/invoices/{id}/dispute", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Reason string `json:"reason"`
		}
		if !decodeOptional(w, r, &req) {
			return
		}
		d, err := s.OpenDispute(r.PathValue("id"), req.Reason)
		writeControlResult(w, d, err)
	})
	control("POST /_sim/disputes/{id}/close", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Status string `json:"status"`
		}
		if !decodeOptional(w, r, &req) {
			return
		}
		d, err := s.CloseDispute(r.PathValue("id"), req.Status)
		writeControlResult(w, d, err)
	})
	control("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		writeControlError(w, http.StatusNotFound, "No control endpoint "+r.Method+" "+r.URL.Path+".")
	})
	return mux
}

// controlAuth guards the control endpoints with Options.ControlToken, when one is set. They
// can reset state and inject faults, so a shared sandbox should set one.
func (s *Server) controlAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.opts.ControlToken != "" {
			got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.ControlToken)) != 1 {
				writeControlError(w, http.StatusUnauthorized, "The control endpoints need 'Authorization: Bearer <control token>'.")
				return
			}
		}
		h(w, r)
	}
}

// controlInvoices lists every invoice of every account; ?status=, ?customer=, ?account=
// (the last four characters of the key) and ?metadata[key]=value narrow it.
func (s *Server) controlInvoices(w http.ResponseWriter, r *http.Request) {
	q, perr := parseParams(r.URL.RawQuery)
	if perr != nil {
		writeControlError(w, http.StatusBadRequest, perr.Message)
		return
	}
	_, metadata := q.get("metadata").stringMap()
	out := []Invoice{}
	for _, inv := range s.Invoices() {
		if v := q.strOf("status"); v != "" && inv.Status != v {
			continue
		}
		if v := q.strOf("customer"); v != "" && inv.Customer != v {
			continue
		}
		if v := q.strOf("account"); v != "" && !strings.HasSuffix(inv.Account, v) {
			continue
		}
		matches := true
		for k, v := range metadata {
			if inv.Metadata[k] != v {
				matches = false
			}
		}
		if matches {
			out = append(out, inv)
		}
	}
	writeControl(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Server) controlInvoice(w http.ResponseWriter, r *http.Request) {
	inv, ok := s.Invoice(r.PathValue("id"))
	if !ok {
		writeControlError(w, http.StatusNotFound, "No invoice "+r.PathValue("id")+" in any account.")
		return
	}
	writeControl(w, http.StatusOK, inv)
}

// faultsRequest is the body of POST /_sim/faults. Present fields apply; rules are added.
type faultsRequest struct {
	Rules  []FaultRule   `json:"rules"`
	Delay  *Duration     `json:"delay"`
	Rate   *float64      `json:"rate"`
	Random *RandomFaults `json:"random"`
}

func (s *Server) controlSetFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsRequest
	if err := decodeControl(r, &req); err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	for _, rule := range req.Rules {
		if err := validateRule(rule); err != nil {
			writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.Random != nil {
		if err := s.SetRandomFaults(*req.Random); err != nil {
			writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.Rate != nil {
		if err := s.SetFaultRate(*req.Rate); err != nil {
			writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	for _, rule := range req.Rules {
		_ = s.InjectFault(rule) // validated above
	}
	if req.Delay != nil {
		s.SetDelay(time.Duration(*req.Delay))
	}
	writeControl(w, http.StatusOK, s.Faults())
}

// controlClock moves the simulated clock: {"advance": "25h"}.
func (s *Server) controlClock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Advance Duration `json:"advance"`
	}
	if err := decodeControl(r, &req); err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.AdvanceClock(time.Duration(req.Advance))
	writeControl(w, http.StatusOK, map[string]any{"now": s.now()})
}

// webhookSettingsJSON is GET /_sim/webhooks: the endpoints set at run time (keys and secrets
// redacted), whether Options.Webhooks names endpoints too, the retry policy and how many
// deliveries are still pending.
type webhookSettingsJSON struct {
	Endpoints      []WebhookEndpointView `json:"endpoints"`
	FromOptions    bool                  `json:"from_options"`
	MaxAttempts    int                   `json:"max_attempts"`
	RetryBackoff   Duration              `json:"retry_backoff"`
	AttemptTimeout Duration              `json:"attempt_timeout"`
	Pending        int                   `json:"pending"`
}

func (s *Server) webhookSettings() webhookSettingsJSON {
	d := s.webhooks
	d.mu.Lock()
	pending := d.pending
	d.mu.Unlock()
	return webhookSettingsJSON{
		Endpoints: s.WebhookEndpoints(), FromOptions: d.fromOptions != nil, MaxAttempts: d.maxAttempts,
		RetryBackoff: Duration(d.backoff), AttemptTimeout: Duration(d.timeout), Pending: pending,
	}
}

// controlSetWebhook is PUT /_sim/webhooks: {"account_key": "sk_test_...", "url": "...",
// "secret": "whsec_...", "enabled_events": ["invoice.*"]}. The account is named by its whole
// secret key, so an endpoint can be set before the account's first request; without
// account_key the endpoint applies to every account without one of its own. An empty url
// removes the setting.
func (s *Server) controlSetWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountKey    string   `json:"account_key"`
		URL           string   `json:"url"`
		Secret        string   `json:"secret"`
		EnabledEvents []string `json:"enabled_events"`
	}
	if err := decodeControl(r, &req); err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.AccountKey != "" && !strings.HasPrefix(req.AccountKey, "sk_test_") {
		writeControlError(w, http.StatusBadRequest, "account_key must be the account's secret key (sk_test_...).")
		return
	}
	ep := WebhookEndpoint{URL: req.URL, Secret: req.Secret, EnabledEvents: req.EnabledEvents}
	if err := s.SetWebhookEndpoint(req.AccountKey, ep); err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeControl(w, http.StatusOK, s.webhookSettings())
}

// controlDeliveries is GET /_sim/webhooks/deliveries[?account=<last4>&event=evt_...&type=...&status=...].
func (s *Server) controlDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []WebhookDelivery{}
	for _, d := range s.WebhookDeliveries() {
		if (q.Get("account") != "" && !strings.HasSuffix(d.Account, q.Get("account"))) ||
			(q.Get("event") != "" && d.EventID != q.Get("event")) ||
			(q.Get("type") != "" && !matchesEventType(d.EventType, q.Get("type"), nil)) ||
			(q.Get("status") != "" && d.Status != q.Get("status")) {
			continue
		}
		out = append(out, d)
	}
	writeControl(w, http.StatusOK, map[string]any{"data": out})
}

// controlFlush is POST /_sim/webhooks/flush {"timeout": "30s"}: it answers once no delivery
// is pending, or 504 when the timeout (30 s by default) passes first.
func (s *Server) controlFlush(w http.ResponseWriter, r *http.Request) {
	req := struct {
		Timeout Duration `json:"timeout"`
	}{Timeout: Duration(30 * time.Second)}
	if !decodeOptional(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(req.Timeout))
	defer cancel()
	if err := s.FlushWebhooks(ctx); err != nil {
		writeControlError(w, http.StatusGatewayTimeout, err.Error())
		return
	}
	writeControl(w, http.StatusOK, s.webhookSettings())
}

// controlAutomaticTax is PUT /_sim/automatic_tax {"delay": "2s", "outcome": "never",
// "account_key": "sk_test_..."}: present fields apply; outcome applies to the named account,
// or to every account without account_key.
func (s *Server) controlAutomaticTax(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccountKey string               `json:"account_key"`
		Delay      *Duration            `json:"delay"`
		Outcome    *AutomaticTaxOutcome `json:"outcome"`
	}
	if err := decodeControl(r, &req); err != nil {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Delay != nil && *req.Delay < 0 {
		writeControlError(w, http.StatusBadRequest, "delay must not be negative.")
		return
	}
	if req.Outcome != nil {
		if err := s.SetAutomaticTaxOutcome(req.AccountKey, *req.Outcome); err != nil {
			writeControlError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	if req.Delay != nil {
		s.SetAutomaticTaxDelay(time.Duration(*req.Delay))
	}
	writeControl(w, http.StatusOK, s.AutomaticTax())
}

// decodeOptional decodes a control body that may be empty; it answers 400 itself on failure.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeControl(r, v); err != nil && !errors.Is(err, io.EOF) {
		writeControlError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

// writeControlResult answers a control action: its result, or its error in Stripe's shape
// with Stripe's status (404 for an unknown id, 400 for a state rule).
func writeControlResult(w http.ResponseWriter, v any, err error) {
	var e *apiError
	switch {
	case err == nil:
		writeControl(w, http.StatusOK, v)
	case errors.As(err, &e):
		writeControl(w, e.Status, errorBody{Error: e})
	default:
		writeControlError(w, http.StatusBadRequest, err.Error())
	}
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

// writeControlError answers control errors in Stripe's error shape, so one client-side
// decoder serves both.
func writeControlError(w http.ResponseWriter, status int, message string) {
	writeControl(w, status, errorBody{Error: &apiError{Type: errTypeInvalidRequest, Message: message}})
}
