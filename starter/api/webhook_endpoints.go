package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/alerts"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// ---- Outgoing webhook endpoints (package alerts) ----

type webhookEndpointRequest struct {
	URL string `json:"url" validate:"required,http_url,max=2000"`
	// Secret signs the deliveries (Taxflow-Signature); write-only.
	Secret *string  `json:"secret" validate:"omitempty,min=16,max=255,printascii"`
	Events []string `json:"events"`
}

type webhookEndpointResponse struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	HasSecret bool      `json:"has_secret"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// maxEventTypes bounds events[]: every type once, with room for types to come.
const maxEventTypes = 50

func eventTypeNames() string {
	names := make([]string, len(alerts.EventTypes))
	for i, t := range alerts.EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func (req *webhookEndpointRequest) check(p *problems) {
	p.checkStruct("", req)
	if len(req.Events) == 0 {
		code := "invalid_field"
		if req.Events == nil {
			code = "missing_field"
		}
		p.add("events", code, `events must list the event types to receive (`+eventTypeNames()+`), or be ["*"] for all of them`)
		return
	}
	if len(req.Events) > maxEventTypes {
		p.add("events", "invalid_field", fmt.Sprintf("events must have at most %d entries", maxEventTypes))
		return
	}
	seen := map[string]bool{}
	for i, e := range req.Events {
		field := fmt.Sprintf("events[%d]", i)
		switch {
		case e == alerts.AllEvents && len(req.Events) > 1:
			p.add(field, "invalid_field", `"*" subscribes to every event type and must be alone: send events ["*"], or list the types`)
		case e == alerts.AllEvents:
		case !alerts.EventType(e).Known():
			p.add(field, "unknown_event_type", fmt.Sprintf("%s %s is not an event type: use one of %s, or [\"*\"]", field, quote(e), eventTypeNames()))
		case seen[e]:
			p.add(field, "duplicate_event_type", fmt.Sprintf("%s %s is listed twice", field, quote(e)))
		}
		seen[e] = true
	}
}

func (s *Server) putWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req webhookEndpointRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var p problems
	req.check(&p)
	if err := p.err(http.StatusUnprocessableEntity); err != nil {
		return err
	}
	params := sqldb.UpsertWebhookEndpointParams{ID: id, Url: req.URL, Events: req.Events}
	// The secret is write-only: omitted on an update, the stored one stays.
	if req.Secret != nil {
		if params.SecretSealed, err = s.Secrets.Seal(*req.Secret, activities.WebhookSecretPlace(id)); err != nil {
			return err
		}
	} else {
		existing, err := s.Store.GetWebhookEndpoint(r.Context(), id)
		if store.IsNotFound(err) {
			return unprocessable("missing_field", "secret", "secret is required when the endpoint is created: at least 16 characters that sign every delivery (Taxflow-Signature)")
		} else if err != nil {
			return err
		}
		params.SecretSealed = existing.SecretSealed
	}
	row, err := s.Store.UpsertWebhookEndpoint(r.Context(), params)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if row.Inserted {
		status = http.StatusCreated
	}
	writeJSON(w, status, webhookEndpointView(sqldb.WebhookEndpoint{
		ID: row.ID, Url: row.Url, SecretSealed: row.SecretSealed, Events: row.Events,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt,
	}))
	return nil
}

func webhookEndpointView(e sqldb.WebhookEndpoint) webhookEndpointResponse {
	return webhookEndpointResponse{
		ID: e.ID, URL: e.Url, Events: e.Events, HasSecret: e.SecretSealed != "",
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
	}
}

func (s *Server) getWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	e, err := s.Store.GetWebhookEndpoint(r.Context(), id)
	if store.IsNotFound(err) {
		return notFound("webhook endpoint", id)
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpointView(e))
	return nil
}

// deleteWebhookEndpoint removes the endpoint; deliveries to it still being retried end
// (canceled) at their next attempt.
func (s *Server) deleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	n, err := s.Store.DeleteWebhookEndpoint(r.Context(), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("webhook endpoint", id)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
