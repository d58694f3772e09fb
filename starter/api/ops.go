package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"go.temporal.io/sdk/converter"
)

// Operations endpoints: readiness and the payload codec the Temporal Web UI calls.

// Readiness checks the starter's dependencies (Postgres, Temporal).
type Readiness func(ctx context.Context) map[string]error

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready == nil {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	status := http.StatusOK
	for name, err := range s.Ready(ctx) {
		checks[name] = "ok"
		if err != nil {
			checks[name] = err.Error()
			status = http.StatusServiceUnavailable
		}
	}
	state := "ready"
	if status != http.StatusOK {
		state = "not ready"
	}
	writeJSON(w, status, map[string]any{"status": state, "checks": checks})
}

// codecHandler serves /codec/encode and /codec/decode for the Temporal UI (its
// "codec endpoint"): payloads stay encrypted in Temporal, and the UI shows them in clear to
// operators who can reach this endpoint. It answers CORS for the UI's origins and, unless
// TAXFLOW_CODEC_AUTH=none, requires the API token.
func (s *Server) codecHandler(c converter.PayloadCodec) http.Handler {
	inner := http.StripPrefix("/codec", converter.NewPayloadCodecHTTPHandler(c))
	protected := s.authenticated(inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(s.CodecOrigins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Vary", "Origin")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if s.CodecOpen {
			inner.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}
