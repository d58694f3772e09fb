package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/alerts"
)

// receiver is an operator's webhook endpoint: it verifies every signature, as the README
// tells receivers to.
type receiver struct {
	mu     sync.Mutex
	secret string
	events []alerts.Payload
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := alerts.Verify(body, r.Header.Get(alerts.HeaderSignature), rc.secret, alerts.DefaultTolerance, time.Now()); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var p alerts.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.events = append(rc.events, p)
}

func (rc *receiver) waitFor(t *testing.T, typ alerts.EventType, invoiceID string) alerts.Payload {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc.mu.Lock()
		for _, e := range rc.events {
			if e.Type == typ && e.Data["invoice_id"] == invoiceID {
				rc.mu.Unlock()
				return e
			}
		}
		bad := rc.bad
		rc.mu.Unlock()
		if bad > 0 {
			t.Fatalf("%d deliveries failed verification", bad)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s for %s", typ, invoiceID)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Outgoing webhooks: signed (the receiver verifies each), one per event, each naming the
// invoice, the customer, the step and the code.
func TestOutgoingWebhooksAnnounceTheInvoicesLife(t *testing.T) {
	s := newStack(t)
	rc := &receiver{secret: "whsec_operator_0123456789"}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	if code, body := s.call("PUT", "/v1/webhook-endpoints/ops", map[string]any{"url": srv.URL, "secret": rc.secret, "events": []string{"*"}}); code != 201 {
		t.Fatalf("%d %v", code, body)
	}
	s.settle(s.loadDemo())
	// Finalized, paid, credited, disputed and lost.
	id := s.denverInvoice("alerts", 15000)
	rc.waitFor(t, alerts.InvoiceFinalized, id)
	if _, err := s.stripe.PayInvoice(s.stripeInvoicesOf(id)[0].ID); err != nil {
		t.Fatal(err)
	}
	rc.waitFor(t, alerts.InvoicePaid, id)
	s.call("POST", "/v1/invoices/"+id+"/credit-notes", map[string]any{"id": "cn-a", "lines": []map[string]any{{"line_id": "l1", "amount": 1000}}})
	cn := rc.waitFor(t, alerts.CreditNoteCreated, id)
	if cn.Data["customer_id"] != "cust-denver" || cn.Data["credit_note_id"] != "cn-a" {
		t.Fatalf("credit_note.created %+v", cn)
	}
	s.call("POST", "/v1/invoices/"+id+"/disputes", map[string]string{"status": "lost"})
	rc.waitFor(t, alerts.InvoiceDisputeLost, id)

	// Failed: a product unknown to Anrok is a failure at the tax step, from the tax provider.
	s.call("PUT", "/v1/products/mystery", map[string]any{"name": "Mystery", "anrok_product_id": "not-in-anrok"})
	failed := "inv-alert-failed-" + s.opts.RunID
	s.postInvoice(failed, "cust-denver", "usd", line("l1", "mystery", 100))
	ev := rc.waitFor(t, alerts.InvoiceFailed, failed)
	if ev.Data["step"] != "tax" || ev.Data["code"] != "productExternalIdUnknown" || ev.Data["customer_id"] != "cust-denver" {
		t.Fatalf("invoice.failed %+v", ev)
	}
	rc.waitFor(t, alerts.InvoiceTaxProviderError, failed)

	// Each event once, however often its transaction's activity ran.
	rc.mu.Lock()
	seen := map[string]bool{}
	for _, e := range rc.events {
		if seen[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
	}
	rc.mu.Unlock()
}
