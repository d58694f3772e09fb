package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/taxflow/taxflow/internal/store/sqldb"
)

const whsec = "whsec_test_0123456789abcdef"

func (f *fixture) webhookAccounts() {
	f.t.Helper()
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/acct", `{"alias":"Main","webhook_secret":"`+whsec+`","settings":{}}`), 200)
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/other", `{"alias":"Other","api_key":"sk_test_other00001234","webhook_secret":"whsec_other_secret_999","settings":{}}`), 201)
	f.mustStatus(f.do("POST", "/v1/invoices", denver), 202)
	if err := f.store.SetStripeInvoice(context.Background(), sqldb.SetStripeInvoiceParams{ID: "inv_1", StripeInvoiceID: ptr("in_sim_1")}); err != nil {
		f.t.Fatal(err)
	}
}

func ptr(s string) *string { return &s }

func event(id, typ, invoice string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","api_version":%q,"created":%d,"type":%q,"data":{"object":{"id":%q,"object":"invoice"}}}`,
		id, stripe.APIVersion, time.Now().Unix(), typ, invoice))
}

func (f *fixture) deliver(account string, payload []byte, signature string) response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/webhooks/stripe/"+account, strings.NewReader(string(payload)))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, raw: string(raw)}
}

func sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: at}).Header
}

func TestStripeWebhookSecurity(t *testing.T) {
	f := newFixture(t)
	f.webhookAccounts()
	ev := event("evt_1", "invoice.paid", "in_sim_1")
	cases := []struct {
		name, account, signature string
	}{
		{"unsigned", "acct", ""},
		{"forged with another secret", "acct", sign(ev, "whsec_forged", time.Now())},
		{"replayed outside the tolerance", "acct", sign(ev, whsec, time.Now().Add(-10*time.Minute))},
		{"signed for another account", "other", sign(ev, whsec, time.Now())},
		{"garbage header", "acct", "t=abc,v1=zz"},
	}
	for _, c := range cases {
		if r := f.deliver(c.account, ev, c.signature); r.status != 400 {
			t.Errorf("%s: status %d, want 400", c.name, r.status)
		}
	}
	if len(f.wf.signals) != 0 {
		t.Fatalf("refused events were signalled: %v", f.wf.signals)
	}
	// A valid event is forwarded once, however often Stripe delivers it.
	for i := 0; i < 3; i++ {
		if r := f.deliver("acct", ev, sign(ev, whsec, time.Now())); r.status != 200 {
			t.Fatalf("valid delivery %d: %d %s", i, r.status, r.raw)
		}
	}
	if len(f.wf.signals) != 1 || f.wf.signals[0] != "inv_1:stripe-event" {
		t.Fatalf("signals %v", f.wf.signals)
	}
	// An event about an invoice taxflow does not know is acknowledged, not forwarded.
	unknown := event("evt_2", "invoice.paid", "in_someone_else")
	if r := f.deliver("acct", unknown, sign(unknown, whsec, time.Now())); r.status != 200 {
		t.Fatalf("unknown invoice: %d", r.status)
	}
	if len(f.wf.signals) != 1 {
		t.Fatalf("signals %v", f.wf.signals)
	}
	// An account without a webhook secret cannot verify anything.
	f.mustStatus(f.do("PUT", "/v1/stripe-accounts/nosecret", `{"alias":"N","api_key":"sk_test_nosecret1234","settings":{}}`), 201)
	if r := f.deliver("nosecret", ev, sign(ev, whsec, time.Now())); r.status != 400 {
		t.Fatalf("no secret: %d", r.status)
	}
}
