package stripesim

import (
	"encoding/json"
	"reflect"
	"sync/atomic"

	"github.com/stripe/stripe-go/v82"
)

// event is a Stripe event: what changed, with the object as it was right after the change.
// The simulator records them for GET /v1/events and sends them to the account's webhook
// endpoint, if it has one.
type event struct {
	id             string
	typ            string
	created        int64
	object         json.RawMessage
	previous       map[string]any // previous_attributes of *.updated events
	requestID      string
	idempotencyKey string
	// pending counts the webhook deliveries not yet accepted (Stripe's pending_webhooks):
	// 1 from the moment the event is queued for an endpoint until the endpoint answers 2xx.
	pending atomic.Int64
}

// emit records an event. before, when given, is the object's rendering before the change:
// the top-level fields that differ become previous_attributes, as in Stripe's *.updated events.
func (c *call) emit(typ string, after, before any) {
	ev := &event{
		id: c.s.ids.next1("evt"), typ: typ, created: c.now, object: mustJSON(after),
		requestID: c.requestID, idempotencyKey: c.idempotencyKey,
	}
	if before != nil {
		ev.previous = changedFields(before, after)
		if len(ev.previous) == 0 {
			return // nothing changed: Stripe sends no *.updated event
		}
	}
	c.acct.events.add(ev.id, ev)
	c.s.webhooks.enqueue(c.acct, ev)
}

// changedFields returns the top-level fields of before whose values differ in after.
func changedFields(before, after any) map[string]any {
	var b, a map[string]any
	_ = json.Unmarshal(mustJSON(before), &b)
	_ = json.Unmarshal(mustJSON(after), &a)
	out := map[string]any{}
	for k, v := range b {
		if !reflect.DeepEqual(v, a[k]) {
			out[k] = v
		}
	}
	return out
}

type eventJSON struct {
	ID              string           `json:"id"`
	Object          string           `json:"object"`
	APIVersion      string           `json:"api_version"`
	Created         int64            `json:"created"`
	Data            eventDataJSON    `json:"data"`
	Livemode        bool             `json:"livemode"`
	PendingWebhooks int64            `json:"pending_webhooks"`
	Request         eventRequestJSON `json:"request"`
	Type            string           `json:"type"`
}

type eventDataJSON struct {
	Object             json.RawMessage `json:"object"`
	PreviousAttributes map[string]any  `json:"previous_attributes,omitempty"`
}

type eventRequestJSON struct {
	ID             *string `json:"id"`
	IdempotencyKey *string `json:"idempotency_key"`
}

func renderEvent(ev *event) eventJSON {
	return eventJSON{
		ID: ev.id, Object: "event", APIVersion: APIVersion, Created: ev.created, PendingWebhooks: ev.pending.Load(),
		Data:    eventDataJSON{Object: ev.object, PreviousAttributes: ev.previous},
		Request: eventRequestJSON{ID: nullable(ev.requestID), IdempotencyKey: nullable(ev.idempotencyKey)},
		Type:    ev.typ,
	}
}

func (s *Server) eventRoutes() []route {
	return []route{
		{method: "GET", pattern: "/v1/events", fn: listEvents,
			params: endpointParams{listSpec(map[string]spec{"type": str(), "types": strList(), "created": intOrRange()}),
				knownFrom(stripe.EventListParams{})}},
		{method: "GET", pattern: "/v1/events/{id}", fn: retrieveEvent,
			params: endpointParams{withExpand(map[string]spec{}), knownFrom(stripe.EventRetrieveParams{})}},
	}
}

func retrieveEvent(c *call) (any, *apiError) {
	id := c.r.PathValue("id")
	ev, ok := c.acct.events.get(id)
	if !ok {
		return nil, noSuchInPath("event", id, "id")
	}
	return renderEvent(ev), nil
}

func listEvents(c *call) (any, *apiError) {
	typ := c.params.strOf("type")
	types := c.params.get("types").strings()
	created := createdFilter(c.params.get("created"))
	var items []*event
	for _, ev := range c.acct.events.newestFirst() {
		if !created(ev.created) || !matchesEventType(ev.typ, typ, types) {
			continue
		}
		items = append(items, ev)
	}
	return paginate(c, items, func(x *event) string { return x.id }, "event", "/v1/events",
		func(x *event) any { return renderEvent(x) })
}

// matchesEventType applies Stripe's type filter, where "invoice.*" matches every invoice event.
func matchesEventType(typ, pattern string, patterns []string) bool {
	match := func(p string) bool {
		if len(p) > 2 && p[len(p)-2:] == ".*" {
			return len(typ) > len(p)-1 && typ[:len(p)-1] == p[:len(p)-1]
		}
		return typ == p
	}
	if pattern != "" && !match(pattern) {
		return false
	}
	if len(patterns) > 0 {
		for _, p := range patterns {
			if match(p) {
				return true
			}
		}
		return false
	}
	return true
}
