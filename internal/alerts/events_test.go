package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
	"github.com/taxflow/taxflow/internal/testenv"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), testenv.NewDatabase(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func emit(t *testing.T, st *store.Store, e Event) {
	t.Helper()
	if err := st.InTx(context.Background(), func(q *sqldb.Queries) error { return Emit(context.Background(), q, e) }); err != nil {
		t.Fatal(err)
	}
}

func eventCount(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outgoing_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEmittedEventExistsOnlyIfTheCallersTransactionCommits(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rollback := errors.New("the state change failed")
	err := st.InTx(ctx, func(q *sqldb.Queries) error {
		if err := Emit(ctx, q, Event{Type: InvoiceFailed, InvoiceID: "inv_1"}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if n := eventCount(t, st); n != 0 {
		t.Fatalf("%d events after a rolled-back transaction, want 0", n)
	}
	emit(t, st, Event{Type: InvoiceFailed, InvoiceID: "inv_1"})
	if n := eventCount(t, st); n != 1 {
		t.Fatalf("%d events after a committed transaction, want 1", n)
	}
}

var eventIDPattern = regexp.MustCompile(`^evt_[0-9a-f]{32}$`)

func TestEventBodyNamesTheInvoiceCustomerStepAndCode(t *testing.T) {
	st := newStore(t)
	created := time.Date(2026, 3, 1, 12, 30, 15, 123456789, time.FixedZone("CET", 3600))
	emit(t, st, Event{
		Type: InvoiceTaxProviderError, Created: created,
		InvoiceID: "inv_1", CustomerID: "cust_1", Step: "tax", Code: "customerAddressCouldNotResolve", Message: "Anrok cannot place <the address>",
		Extra: map[string]any{"provider": "anrok", "attempt": 3, "code": "ignored: the fixed field wins"},
	})
	var id string
	if err := st.Pool.QueryRow(context.Background(), "SELECT id FROM outgoing_events").Scan(&id); err != nil {
		t.Fatal(err)
	}
	ev, err := st.GetOutgoingEvent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !eventIDPattern.MatchString(ev.ID) {
		t.Fatalf("event id %q, want evt_ and 32 hex digits", ev.ID)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(ev.Body), &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, ev.Body)
	}
	if body["id"] != ev.ID || body["type"] != "invoice.tax_provider_error" || body["created"] != "2026-03-01T11:30:15Z" {
		t.Fatalf("envelope: %s", ev.Body)
	}
	data, _ := body["data"].(map[string]any)
	want := map[string]any{
		"invoice_id": "inv_1", "customer_id": "cust_1", "step": "tax", "code": "customerAddressCouldNotResolve",
		"message": "Anrok cannot place <the address>", "provider": "anrok", "attempt": float64(3),
	}
	if len(data) != len(want) {
		t.Fatalf("data %v, want %v", data, want)
	}
	for k, v := range want {
		if data[k] != v {
			t.Fatalf("data.%s = %v, want %v (body %s)", k, data[k], v, ev.Body)
		}
	}
	if ev.InvoiceID != "inv_1" || ev.CustomerID != "cust_1" || !ev.CreatedAt.Equal(created.Truncate(time.Second)) || ev.DispatchedAt != nil {
		t.Fatalf("row %+v", ev)
	}
	// The payload type decodes it.
	var p Payload
	if err := json.Unmarshal([]byte(ev.Body), &p); err != nil || p.Type != InvoiceTaxProviderError || !p.Created.Equal(created.Truncate(time.Second)) {
		t.Fatalf("Payload %+v, %v", p, err)
	}
}

func TestEveryEventHasTheFiveDataFieldsEvenWhenEmpty(t *testing.T) {
	b, err := Event{ID: "evt_1", Type: InvoicePaid, Created: time.Unix(0, 0)}.Body()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"evt_1","type":"invoice.paid","created":"1970-01-01T00:00:00Z","data":{"invoice_id":"","customer_id":"","step":"","code":"","message":""}}`
	if string(b) != want {
		t.Fatalf("body\n%s\nwant\n%s", b, want)
	}
}

func TestEmitRefusesAnUnknownEventType(t *testing.T) {
	st := newStore(t)
	err := st.InTx(context.Background(), func(q *sqldb.Queries) error {
		return Emit(context.Background(), q, Event{Type: "invoice.exploded"})
	})
	if err == nil {
		t.Fatal("an unknown type was emitted")
	}
	for _, typ := range EventTypes {
		if !typ.Known() {
			t.Fatalf("%s not known", typ)
		}
	}
}

func TestEventIDsAreRandomAndADerivedIDEmitsOnce(t *testing.T) {
	st := newStore(t)
	emit(t, st, Event{Type: InvoiceFinalized, InvoiceID: "inv_1"})
	emit(t, st, Event{Type: InvoiceFinalized, InvoiceID: "inv_1"})
	if n := eventCount(t, st); n != 2 {
		t.Fatalf("%d events, want 2 distinct ids", n)
	}
	id := EventIDFor("inv_1", string(InvoiceFailed), "retry-0")
	if !eventIDPattern.MatchString(id) || id != EventIDFor("inv_1", string(InvoiceFailed), "retry-0") || id == EventIDFor("inv_1", string(InvoiceFailed), "retry-1") {
		t.Fatalf("EventIDFor is not a stable per-key id: %s", id)
	}
	emit(t, st, Event{ID: id, Type: InvoiceFailed, InvoiceID: "inv_1"})
	emit(t, st, Event{ID: id, Type: InvoiceFailed, InvoiceID: "inv_1"}) // a retried transaction
	if n := eventCount(t, st); n != 3 {
		t.Fatalf("%d events, want 3: the derived id once", n)
	}
	if NewEventID() == NewEventID() {
		t.Fatal("two random ids are equal")
	}
}
