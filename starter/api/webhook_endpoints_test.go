package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/taxflow/taxflow/activities"
	"github.com/taxflow/taxflow/internal/secretbox"
	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/testenv"
)

// newEndpointFixture is the API on a fresh database, with its keyring at hand (no
// accounts or customers: endpoints need none).
func newEndpointFixture(t *testing.T) (*fixture, *secretbox.Keyring) {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	_, keys := testenv.SecretKey(t)
	wf := &recordingWorkflows{}
	s := &Server{Store: st, Secrets: keys, Workflows: wf, Tokens: []string{token}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, store: st, wf: wf}, keys
}

const opsEndpoint = `{"url":"https://ops.example.com/taxflow","secret":"whsec-ops-0123456789abcdef","events":["invoice.failed","invoice.tax_provider_error"]}`

func TestWebhookEndpointIsCreatedThenUpdatedAndShownWithoutItsSecret(t *testing.T) {
	f, _ := newEndpointFixture(t)
	r := f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", opsEndpoint), 201)
	if r.body["id"] != "ops" || r.body["url"] != "https://ops.example.com/taxflow" || r.body["has_secret"] != true ||
		r.body["created_at"] == nil || r.body["updated_at"] == nil {
		t.Fatalf("created %s", r.raw)
	}
	if ev, _ := r.body["events"].([]any); len(ev) != 2 || ev[0] != "invoice.failed" || ev[1] != "invoice.tax_provider_error" {
		t.Fatalf("events %s", r.raw)
	}
	if _, ok := r.body["secret"]; ok || strings.Contains(r.raw, "whsec-ops") {
		t.Fatalf("the secret is returned: %s", r.raw)
	}
	r = f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"http://127.0.0.1:9000/hook","events":["*"]}`), 200)
	if r.body["url"] != "http://127.0.0.1:9000/hook" || r.body["has_secret"] != true {
		t.Fatalf("updated %s", r.raw)
	}
	g := f.mustStatus(f.do("GET", "/v1/webhook-endpoints/ops", ""), 200)
	if g.body["url"] != "http://127.0.0.1:9000/hook" || strings.Contains(g.raw, "whsec-ops") {
		t.Fatalf("get %s", g.raw)
	}
	if ev, _ := g.body["events"].([]any); len(ev) != 1 || ev[0] != "*" {
		t.Fatalf("events %s", g.raw)
	}
	for _, k := range []string{"id", "url", "events", "has_secret", "created_at", "updated_at"} {
		if _, ok := g.body[k]; !ok {
			t.Fatalf("no %s in %s", k, g.raw)
		}
	}
	if len(g.body) != 6 {
		t.Fatalf("unexpected fields in %s", g.raw)
	}
}

func TestWebhookSecretIsSealedForItsEndpointAndKeptWhenOmitted(t *testing.T) {
	f, keys := newEndpointFixture(t)
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", opsEndpoint), 201)
	sealed := func() string {
		var s string
		if err := f.store.Pool.QueryRow(context.Background(), "SELECT secret_sealed FROM webhook_endpoints WHERE id='ops'").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := sealed()
	if strings.Contains(first, "whsec-ops") {
		t.Fatal("the secret is stored in clear")
	}
	if got, err := keys.Open(first, activities.WebhookSecretPlace("ops")); err != nil || got != "whsec-ops-0123456789abcdef" {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := keys.Open(first, activities.SecretPlace("webhook_endpoints", "other", "secret")); err == nil {
		t.Fatal("the secret opens for another endpoint")
	}
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"https://ops.example.com/v2","events":["invoice.paid"]}`), 200)
	if sealed() != first {
		t.Fatal("an update without secret changed the stored secret")
	}
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"https://ops.example.com/v2","secret":"rotated-secret-0123456789","events":["invoice.paid"]}`), 200)
	if got, err := keys.Open(sealed(), activities.WebhookSecretPlace("ops")); err != nil || got != "rotated-secret-0123456789" {
		t.Fatalf("rotated: %q, %v", got, err)
	}
}

func TestWebhookSecretIsRequiredOnCreate(t *testing.T) {
	f, _ := newEndpointFixture(t)
	r := f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"https://ops.example.com/taxflow","events":["*"]}`), 422)
	if code, field := errorOf(r); code != "missing_field" || field != "secret" {
		t.Fatalf("%s", r.raw)
	}
	f.mustStatus(f.do("GET", "/v1/webhook-endpoints/ops", ""), 404)
}

func TestInvalidWebhookEndpointsAreRefusedNamingTheField(t *testing.T) {
	f, _ := newEndpointFixture(t)
	cases := []struct {
		name, body, code, field string
		status                  int
	}{
		{"unknown event type", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":["invoice.failed","invoice.exploded"]}`, "unknown_event_type", "events[1]", 422},
		{"no events", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":[]}`, "invalid_field", "events", 422},
		{"events missing", `{"url":"https://x.example/h","secret":"0123456789abcdef"}`, "missing_field", "events", 422},
		{"star among types", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":["invoice.paid","*"]}`, "invalid_field", "events[1]", 422},
		{"duplicate type", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":["invoice.paid","invoice.paid"]}`, "duplicate_event_type", "events[1]", 422},
		{"url missing", `{"secret":"0123456789abcdef","events":["*"]}`, "missing_field", "url", 422},
		{"url not http", `{"url":"ftp://x.example/h","secret":"0123456789abcdef","events":["*"]}`, "invalid_field", "url", 422},
		{"url not a url", `{"url":"hooks","secret":"0123456789abcdef","events":["*"]}`, "invalid_field", "url", 422},
		{"short secret", `{"url":"https://x.example/h","secret":"short","events":["*"]}`, "invalid_field", "secret", 422},
		{"empty secret", `{"url":"https://x.example/h","secret":"","events":["*"]}`, "invalid_field", "secret", 422},
		{"events not strings", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":[1]}`, "invalid_field", "events", 400},
		{"unknown field", `{"url":"https://x.example/h","secret":"0123456789abcdef","events":["*"],"enabled":true}`, "unknown_field", "enabled", 400},
	}
	for _, c := range cases {
		r := f.do("PUT", "/v1/webhook-endpoints/ops", c.body)
		if code, field := errorOf(r); r.status != c.status || code != c.code || !strings.HasPrefix(field, c.field) {
			t.Errorf("%s: %d %s", c.name, r.status, r.raw)
		}
	}
	f.mustStatus(f.do("GET", "/v1/webhook-endpoints/ops", ""), 404)
	// Every problem is listed.
	r := f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"nope","secret":"0123456789abcdef","events":["a","invoice.paid","b"]}`), 422)
	details, _ := r.body["error"].(map[string]any)["details"].([]any)
	if len(details) != 3 {
		t.Fatalf("details %s", r.raw)
	}
	// A bad id in the path.
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/bad:id", opsEndpoint), 400)
}

func TestDeletedWebhookEndpointIsGone(t *testing.T) {
	f, _ := newEndpointFixture(t)
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", opsEndpoint), 201)
	r := f.mustStatus(f.do("DELETE", "/v1/webhook-endpoints/ops", ""), 204)
	if r.raw != "" {
		t.Fatalf("body %q", r.raw)
	}
	f.mustStatus(f.do("GET", "/v1/webhook-endpoints/ops", ""), 404)
	r = f.mustStatus(f.do("DELETE", "/v1/webhook-endpoints/ops", ""), 404)
	if code, _ := errorOf(r); code != "not_found" {
		t.Fatalf("%s", r.raw)
	}
	// Created again afresh: the secret is required again.
	f.mustStatus(f.do("PUT", "/v1/webhook-endpoints/ops", `{"url":"https://ops.example.com/taxflow","events":["*"]}`), 422)
}

func TestWebhookEndpointsNeedTheToken(t *testing.T) {
	f, _ := newEndpointFixture(t)
	for _, m := range []string{"PUT", "GET", "DELETE"} {
		f.mustStatus(f.doWith(m, "/v1/webhook-endpoints/ops", opsEndpoint, "", "application/json"), 401)
	}
}
