package stripesim

import (
	"crypto/subtle"
	"encoding/json"
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
			"faults_injected": s.Faults().Injected, "requests_logged": len(s.Requests()), "now": s.now(),
		})
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
	Rules []FaultRule `json:"rules"`
	Delay *Duration   `json:"delay"`
	Rate  *float64    `json:"rate"`
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
