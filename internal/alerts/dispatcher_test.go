package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/taxflow/taxflow/internal/store"
	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// recordingStarter stands in for Temporal: it records the deliveries started.
type recordingStarter struct {
	mu      sync.Mutex
	started []string
	failOn  string // an event id whose start fails
}

func (r *recordingStarter) StartDelivery(_ context.Context, in DeliveryInput, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in.EventID == r.failOn {
		return errors.New("temporal unavailable")
	}
	r.started = append(r.started, DeliveryWorkflowID(in.EventID, in.EndpointID))
	return nil
}

func (r *recordingStarter) starts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.started...)
	sort.Strings(out)
	return out
}

func putEndpoint(t *testing.T, st *store.Store, id string, events ...string) {
	t.Helper()
	if _, err := st.UpsertWebhookEndpoint(context.Background(), sqldb.UpsertWebhookEndpointParams{
		ID: id, Url: "https://hooks.example/" + id, SecretSealed: "unused", Events: events,
	}); err != nil {
		t.Fatal(err)
	}
}

func newDispatcher(st *store.Store, s Starter) *Dispatcher {
	return &Dispatcher{Store: st, Starter: s, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func dispatched(t *testing.T, st *store.Store, id string) bool {
	t.Helper()
	ev, err := st.GetOutgoingEvent(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev.DispatchedAt != nil
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestDispatcherStartsOneDeliveryPerSubscribedEndpointAndMarksTheEvent(t *testing.T) {
	st := newStore(t)
	putEndpoint(t, st, "failures", string(InvoiceFailed), string(InvoiceTaxProviderError))
	putEndpoint(t, st, "everything", AllEvents)
	putEndpoint(t, st, "payments", string(InvoicePaid))
	emit(t, st, Event{ID: "evt_a", Type: InvoiceFailed, InvoiceID: "inv_1"})

	rec := &recordingStarter{}
	d := newDispatcher(st, rec)
	n, err := d.DispatchOnce(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("DispatchOnce = %d, %v", n, err)
	}
	want := []string{"webhook-delivery/evt_a/everything", "webhook-delivery/evt_a/failures"}
	if got := rec.starts(); !equal(got, want) {
		t.Fatalf("started %v, want %v", got, want)
	}
	if !dispatched(t, st, "evt_a") {
		t.Fatal("event not marked dispatched")
	}
	deliveries, err := st.ListWebhookDeliveriesOfEvent(context.Background(), "evt_a")
	if err != nil || len(deliveries) != 2 || deliveries[0].EndpointID != "everything" || deliveries[0].Status != "pending" || deliveries[1].EndpointID != "failures" {
		t.Fatalf("deliveries %+v, %v", deliveries, err)
	}
	// A dispatched event is not dispatched again.
	if n, err := d.DispatchOnce(context.Background()); err != nil || n != 0 || len(rec.starts()) != 2 {
		t.Fatalf("second DispatchOnce = %d, %v; started %v", n, err, rec.starts())
	}
}

func TestEventWithoutSubscribedEndpointIsJustMarkedDispatched(t *testing.T) {
	st := newStore(t)
	putEndpoint(t, st, "payments", string(InvoicePaid))
	emit(t, st, Event{ID: "evt_v", Type: InvoiceVoided, InvoiceID: "inv_1"})
	rec := &recordingStarter{}
	if n, err := newDispatcher(st, rec).DispatchOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("DispatchOnce = %d, %v", n, err)
	}
	if len(rec.starts()) != 0 || !dispatched(t, st, "evt_v") {
		t.Fatalf("started %v; dispatched %v", rec.starts(), dispatched(t, st, "evt_v"))
	}
}

func TestFailedStartLeavesTheEventForTheNextPollAndKeepsTheOnesBefore(t *testing.T) {
	st := newStore(t)
	putEndpoint(t, st, "ops", AllEvents)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	emit(t, st, Event{ID: "evt_1", Type: InvoiceFailed, Created: base})
	emit(t, st, Event{ID: "evt_2", Type: InvoiceFailed, Created: base.Add(time.Second)})
	emit(t, st, Event{ID: "evt_3", Type: InvoiceFailed, Created: base.Add(2 * time.Second)})

	rec := &recordingStarter{failOn: "evt_2"}
	d := newDispatcher(st, rec)
	n, err := d.DispatchOnce(context.Background())
	if err == nil || n != 1 {
		t.Fatalf("DispatchOnce = %d, %v; want 1 and the start's error", n, err)
	}
	if !dispatched(t, st, "evt_1") || dispatched(t, st, "evt_2") || dispatched(t, st, "evt_3") {
		t.Fatal("only the event before the failed start may be marked dispatched")
	}
	if ds, _ := st.ListWebhookDeliveriesOfEvent(context.Background(), "evt_2"); len(ds) != 0 {
		t.Fatalf("a delivery was recorded for a workflow that did not start: %+v", ds)
	}
	rec.mu.Lock()
	rec.failOn = ""
	rec.mu.Unlock()
	if n, err := d.DispatchOnce(context.Background()); err != nil || n != 2 {
		t.Fatalf("next DispatchOnce = %d, %v", n, err)
	}
	want := []string{"webhook-delivery/evt_1/ops", "webhook-delivery/evt_2/ops", "webhook-delivery/evt_3/ops"}
	if got := rec.starts(); !equal(got, want) {
		t.Fatalf("started %v, want %v", got, want)
	}
}

func TestDispatcherSkipsEventsAnotherDispatcherHolds(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	putEndpoint(t, st, "ops", AllEvents)
	emit(t, st, Event{ID: "evt_held", Type: InvoicePaid})
	emit(t, st, Event{ID: "evt_free", Type: InvoicePaid})

	// Another dispatcher's transaction holds evt_held.
	tx, err := st.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT id FROM outgoing_events WHERE id = 'evt_held' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	rec := &recordingStarter{}
	d := newDispatcher(st, rec)
	done := make(chan error, 1)
	go func() {
		_, err := d.DispatchOnce(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DispatchOnce waited for a locked event instead of skipping it")
	}
	if got := rec.starts(); !equal(got, []string{"webhook-delivery/evt_free/ops"}) {
		t.Fatalf("started %v while evt_held was locked", got)
	}
	_ = tx.Rollback(ctx)
	if n, err := d.DispatchOnce(ctx); err != nil || n != 1 || !dispatched(t, st, "evt_held") {
		t.Fatalf("after the lock: %d, %v", n, err)
	}
}

func TestConcurrentDispatchersStartEachDeliveryOnce(t *testing.T) {
	st := newStore(t)
	putEndpoint(t, st, "a", AllEvents)
	putEndpoint(t, st, "b", string(InvoiceFinalized))
	const events = 60
	for i := range events {
		emit(t, st, Event{ID: fmt.Sprintf("evt_%03d", i), Type: InvoiceFinalized})
	}
	rec := &recordingStarter{}
	var wg sync.WaitGroup
	for range 4 {
		d := newDispatcher(st, rec)
		d.BatchSize = 7
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := d.DispatchOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	got := rec.starts()
	if len(got) != 2*events {
		t.Fatalf("%d starts, want %d", len(got), 2*events)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("%s started twice", got[i])
		}
	}
	var left int
	if err := st.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outgoing_events WHERE dispatched_at IS NULL").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d events left undispatched (%v)", left, err)
	}
}

func TestRunDispatchesNewEventsUntilTheContextEnds(t *testing.T) {
	st := newStore(t)
	putEndpoint(t, st, "ops", AllEvents)
	rec := &recordingStarter{}
	d := newDispatcher(st, rec)
	d.Interval = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(stopped)
	}()
	emit(t, st, Event{ID: "evt_late", Type: CreditNoteCreated})
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.starts()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not dispatch the event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
}

func TestDispatcherWithoutTemporalOrStarterFails(t *testing.T) {
	st := newStore(t)
	if _, err := (&Dispatcher{Store: st}).DispatchOnce(context.Background()); err == nil {
		t.Fatal("no error")
	}
}
