package alerts

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/taxflow/taxflow/internal/store/sqldb"
)

// EventType names what happened; endpoints subscribe to types.
type EventType string

// The event types taxflow emits.
const (
	InvoiceFinalized            EventType = "invoice.finalized"
	InvoicePaid                 EventType = "invoice.paid"
	InvoiceVoided               EventType = "invoice.voided"
	InvoiceFailed               EventType = "invoice.failed"
	InvoiceTaxProviderError     EventType = "invoice.tax_provider_error"
	InvoiceBillingProviderError EventType = "invoice.billing_provider_error"
	InvoiceTaxMissingAtDeadline EventType = "invoice.tax_missing_at_deadline"
	CreditNoteCreated           EventType = "credit_note.created"
	InvoiceDisputeLost          EventType = "invoice.dispute_lost"
)

// AllEvents subscribes an endpoint to every type, present and future: events ["*"].
const AllEvents = "*"

// EventTypes lists every event type, in a stable order.
var EventTypes = []EventType{
	InvoiceFinalized,
	InvoicePaid,
	InvoiceVoided,
	InvoiceFailed,
	InvoiceTaxProviderError,
	InvoiceBillingProviderError,
	InvoiceTaxMissingAtDeadline,
	CreditNoteCreated,
	InvoiceDisputeLost,
}

// Known reports whether t is one of EventTypes.
func (t EventType) Known() bool {
	for _, k := range EventTypes {
		if t == k {
			return true
		}
	}
	return false
}

// Event is one thing to announce. Its JSON (the body sent to endpoints) is
//
//	{"id": ID, "type": Type, "created": Created (RFC 3339, UTC),
//	 "data": {"invoice_id", "customer_id", "step", "code", "message", ...Extra}}
type Event struct {
	// ID is "evt_" + hex. Leave it empty for a fresh random id; set it with EventIDFor when
	// the transaction that emits may run again (a retried activity) and must not emit twice.
	ID   string
	Type EventType
	// Created defaults to the time of Emit.
	Created time.Time

	InvoiceID  string
	CustomerID string
	// Step is the invoice's step the event is about (invoicing.Step), if any.
	Step string
	// Code is the error code (failed and provider-error events), if any.
	Code    string
	Message string
	// Extra adds fields to data (e.g. "credit_note_id", "provider"). It cannot replace the
	// five fields above: a key among them is ignored.
	Extra map[string]any
}

// Payload is the JSON of an event as an endpoint receives it; receivers may decode into it.
type Payload struct {
	ID      string         `json:"id"`
	Type    EventType      `json:"type"`
	Created time.Time      `json:"created"`
	Data    map[string]any `json:"data"`
}

const eventIDPrefix = "evt_"

// NewEventID returns a fresh random event id: "evt_" and 32 hex digits.
func NewEventID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("alerts: random event id: %v", err))
	}
	return eventIDPrefix + hex.EncodeToString(b)
}

// EventIDFor derives an event id from a key that names the occurrence (for example the
// invoice id, the event type and the workflow's retry count): the same key always gives
// the same id, so a retried transaction emits the event once.
func EventIDFor(key ...string) string {
	h := sha256.Sum256([]byte(strings.Join(key, "\x00")))
	return eventIDPrefix + hex.EncodeToString(h[:16])
}

// fixedDataKeys are the data fields every event has.
var fixedDataKeys = map[string]bool{"invoice_id": true, "customer_id": true, "step": true, "code": true, "message": true}

// Body returns the JSON of e as endpoints receive it. ID and Created must be set (Emit sets
// them).
func (e Event) Body() ([]byte, error) {
	var data bytes.Buffer
	fixed, err := json.Marshal(struct {
		InvoiceID  string `json:"invoice_id"`
		CustomerID string `json:"customer_id"`
		Step       string `json:"step"`
		Code       string `json:"code"`
		Message    string `json:"message"`
	}{e.InvoiceID, e.CustomerID, e.Step, e.Code, e.Message})
	if err != nil {
		return nil, err
	}
	data.Write(fixed[:len(fixed)-1]) // without the closing brace: extras follow
	keys := make([]string, 0, len(e.Extra))
	for k := range e.Extra {
		if !fixedDataKeys[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, _ := json.Marshal(k)
		value, err := json.Marshal(e.Extra[k])
		if err != nil {
			return nil, fmt.Errorf("alerts: event data %q: %w", k, err)
		}
		data.WriteByte(',')
		data.Write(name)
		data.WriteByte(':')
		data.Write(value)
	}
	data.WriteByte('}')
	return json.Marshal(struct {
		ID      string          `json:"id"`
		Type    EventType       `json:"type"`
		Created string          `json:"created"`
		Data    json.RawMessage `json:"data"`
	}{e.ID, e.Type, e.Created.UTC().Format(time.RFC3339), data.Bytes()})
}

// Emit records e in the outbox (outgoing_events) through q, which must be bound to the
// caller's transaction (store.InTx's Queries): the event then exists if and only if the
// caller's change commits. The dispatcher delivers it after the commit. An event whose id
// is already stored (see EventIDFor) is not stored again.
func Emit(ctx context.Context, q *sqldb.Queries, e Event) error {
	if !e.Type.Known() {
		return fmt.Errorf("alerts: unknown event type %q", e.Type)
	}
	if e.ID == "" {
		e.ID = NewEventID()
	} else if !strings.HasPrefix(e.ID, eventIDPrefix) || len(e.ID) > 100 {
		return fmt.Errorf("alerts: event id %q must be \"evt_\" and at most 96 more characters", e.ID)
	}
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	e.Created = e.Created.UTC().Truncate(time.Second) // what the body shows
	body, err := e.Body()
	if err != nil {
		return err
	}
	if _, err := q.InsertOutgoingEvent(ctx, sqldb.InsertOutgoingEventParams{
		ID:         e.ID,
		Type:       string(e.Type),
		InvoiceID:  e.InvoiceID,
		CustomerID: e.CustomerID,
		Body:       string(body),
		CreatedAt:  e.Created,
	}); err != nil {
		return fmt.Errorf("alerts: emit %s: %w", e.Type, err)
	}
	return nil
}
