package anroksim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// controlHandler serves the simulator's own endpoints under /_sim/. They are not part of
// Anrok's API: tests and chaos runs use them to inspect the account and inject failures.
func (s *Server) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/transactions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Transactions []Transaction `json:"transactions"`
		}{s.Transactions()})
	})
	mux.HandleFunc("GET /_sim/transactions/{id}", func(w http.ResponseWriter, r *http.Request) {
		t, ok := s.Transaction(r.PathValue("id"))
		if !ok {
			controlError(w, http.StatusNotFound, fmt.Errorf("%w: %q", ErrNotFound, r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, t)
	})
	mux.HandleFunc("POST /_sim/transactions/{id}/freeze", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := s.Freeze(id); err != nil {
			controlError(w, http.StatusNotFound, err)
			return
		}
		t, _ := s.Transaction(id)
		writeJSON(w, http.StatusOK, t)
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		fs := s.FaultSettings()
		out := faultsState{Queued: make([]faultJSON, 0, len(fs.Queued)), Rates: ratesToJSON(fs.Rates), Conflicts: fs.Conflicts}
		for _, f := range fs.Queued {
			out.Queued = append(out.Queued, faultToJSON(f))
		}
		if fs.Latency > 0 {
			out.Latency = fs.Latency.String()
		}
		if !fs.FreezeOnCommit.isZero() {
			out.FreezeOnCommit = &fs.FreezeOnCommit
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("PUT /_sim/faults/latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Latency string `json:"latency"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		var d time.Duration
		var err error
		if req.Latency != "" {
			if d, err = time.ParseDuration(req.Latency); err != nil {
				controlError(w, http.StatusBadRequest, fmt.Errorf("anroksim: latency: %w", err))
				return
			}
		}
		if err := s.SetLatency(d); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sim/faults/conflicts", func(w http.ResponseWriter, r *http.Request) {
		var req ForcedConflict
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.ForceConflict(req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/faults/conflicts", func(w http.ResponseWriter, r *http.Request) {
		s.ClearForcedConflicts()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /_sim/faults/frozen", func(w http.ResponseWriter, r *http.Request) {
		var req FreezeOnCommit
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		s.SetFreezeOnCommit(req)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/certificates", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Certificates []Certificate `json:"certificates"`
		}{s.Certificates()})
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			faultJSON
			Count int `json:"count"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		f, err := req.faultJSON.fault()
		if err == nil {
			if req.Count == 0 {
				req.Count = 1
			}
			err = s.InjectFaults(f, req.Count)
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("PUT /_sim/faults/rates", func(w http.ResponseWriter, r *http.Request) {
		var req ratesJSON
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		rates, err := req.rates()
		if err == nil {
			err = s.SetFaultRates(rates)
		}
		if err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/products", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Products []Product `json:"products"`
		}{s.Products()})
	})
	mux.HandleFunc("POST /_sim/customers", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := decodeControl(r, &req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		if err := s.AddCustomer(req.ID, req.Name); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return s.requireControlToken(mux)
}

func (s *Server) requireControlToken(next http.Handler) http.Handler {
	if s.opts.ControlToken == "" {
		return next
	}
	want := []byte(s.opts.ControlToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			controlError(w, http.StatusUnauthorized, errors.New("the control endpoints need the simulator's control token as a bearer token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func controlError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{err.Error()})
}

func decodeControl(r *http.Request, v any) error {
	d := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("anroksim: bad control request: %w", err)
	}
	return nil
}

// faultJSON is a Fault on the wire; the delay is a Go duration string ("2s", "150ms").
type faultJSON struct {
	Kind  FaultKind `json:"kind"`
	Delay string    `json:"delay,omitempty"`
}

func faultToJSON(f Fault) faultJSON {
	j := faultJSON{Kind: f.Kind}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

func (j faultJSON) fault() (Fault, error) {
	f := Fault{Kind: j.Kind}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return Fault{}, fmt.Errorf("anroksim: delay: %w", err)
		}
		f.Delay = d
	}
	return f, f.validate()
}

type ratesJSON struct {
	ServerError          float64 `json:"serverError"`
	ExternalServiceError float64 `json:"externalServiceError"`
	Timeout              float64 `json:"timeout"`
	TimeoutDelay         string  `json:"timeoutDelay,omitempty"`
}

func ratesToJSON(r FaultRates) ratesJSON {
	j := ratesJSON{ServerError: r.ServerError, ExternalServiceError: r.ExternalServiceError, Timeout: r.Timeout}
	if r.TimeoutDelay > 0 {
		j.TimeoutDelay = r.TimeoutDelay.String()
	}
	return j
}

func (j ratesJSON) rates() (FaultRates, error) {
	r := FaultRates{ServerError: j.ServerError, ExternalServiceError: j.ExternalServiceError, Timeout: j.Timeout}
	if j.TimeoutDelay != "" {
		d, err := time.ParseDuration(j.TimeoutDelay)
		if err != nil {
			return FaultRates{}, fmt.Errorf("anroksim: timeoutDelay: %w", err)
		}
		r.TimeoutDelay = d
	}
	return r, nil
}

type faultsState struct {
	Queued         []faultJSON      `json:"queued"`
	Rates          ratesJSON        `json:"rates"`
	Latency        string           `json:"latency,omitempty"`
	Conflicts      []ForcedConflict `json:"conflicts,omitempty"`
	FreezeOnCommit *FreezeOnCommit  `json:"freezeOnCommit,omitempty"`
}
