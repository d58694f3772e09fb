-- name: UpsertWebhookEndpoint :one
-- Outgoing webhooks (package internal/alerts): endpoints, the event outbox, deliveries.
INSERT INTO webhook_endpoints (id, url, secret_sealed, events)
VALUES (@id, @url, @secret_sealed, @events::text[])
ON CONFLICT (id) DO UPDATE SET
    url = EXCLUDED.url,
    secret_sealed = EXCLUDED.secret_sealed,
    events = EXCLUDED.events,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetWebhookEndpoint :one
SELECT * FROM webhook_endpoints WHERE id = @id;

-- name: DeleteWebhookEndpoint :execrows
DELETE FROM webhook_endpoints WHERE id = @id;

-- name: ListSubscribedWebhookEndpoints :many
-- The endpoints that receive events of a type: subscribed to it, or to every type ('*').
SELECT id FROM webhook_endpoints
WHERE @event_type::text = ANY(events) OR '*' = ANY(events)
ORDER BY id;

-- name: InsertOutgoingEvent :execrows
-- Called inside the transaction of the state change the event announces. An id already
-- present (a retried transaction that derived the same id) inserts nothing.
INSERT INTO outgoing_events (id, type, invoice_id, customer_id, body, created_at)
VALUES (@id, @type, @invoice_id, @customer_id, @body, @created_at)
ON CONFLICT (id) DO NOTHING;

-- name: GetOutgoingEvent :one
SELECT * FROM outgoing_events WHERE id = @id;

-- name: ClaimUndispatchedEvents :many
-- The oldest undispatched events, locked for this transaction; rows another dispatcher
-- holds are skipped, so several workers can dispatch at once. (NO KEY UPDATE: the FOR
-- UPDATE that excludes other dispatchers, without blocking a delivery's insert into
-- webhook_deliveries, whose foreign key only needs KEY SHARE.)
SELECT id, type, invoice_id FROM outgoing_events
WHERE dispatched_at IS NULL
ORDER BY created_at, id
LIMIT @batch_size
FOR NO KEY UPDATE SKIP LOCKED;

-- name: MarkEventsDispatched :exec
UPDATE outgoing_events SET dispatched_at = now()
WHERE id = ANY(@ids::text[]) AND dispatched_at IS NULL;

-- name: CreateWebhookDelivery :exec
INSERT INTO webhook_deliveries (event_id, endpoint_id)
VALUES (@event_id, @endpoint_id)
ON CONFLICT (event_id, endpoint_id) DO NOTHING;

-- name: GetWebhookDelivery :one
SELECT * FROM webhook_deliveries WHERE event_id = @event_id AND endpoint_id = @endpoint_id;

-- name: ListWebhookDeliveriesOfEvent :many
SELECT * FROM webhook_deliveries WHERE event_id = @event_id ORDER BY endpoint_id;

-- name: RecordWebhookDeliveryAttempt :one
-- One POST to the endpoint: its outcome, and one more attempt counted. A delivery already
-- delivered stays so.
INSERT INTO webhook_deliveries (event_id, endpoint_id, status, attempts, last_status_code,
    last_error, last_attempt_at, delivered_at)
VALUES (@event_id, @endpoint_id, @status, 1, @last_status_code,
    @last_error, @attempted_at, @delivered_at)
ON CONFLICT (event_id, endpoint_id) DO UPDATE SET
    status = CASE WHEN webhook_deliveries.status = 'delivered' THEN 'delivered' ELSE EXCLUDED.status END,
    attempts = webhook_deliveries.attempts + 1,
    last_status_code = EXCLUDED.last_status_code,
    last_error = EXCLUDED.last_error,
    last_attempt_at = EXCLUDED.last_attempt_at,
    delivered_at = COALESCE(webhook_deliveries.delivered_at, EXCLUDED.delivered_at),
    updated_at = now()
RETURNING *;

-- name: EndWebhookDelivery :exec
-- A delivery that will not be attempted again (failed: retries exhausted; canceled: the
-- endpoint was deleted). A delivered one stays delivered.
INSERT INTO webhook_deliveries (event_id, endpoint_id, status, last_error)
VALUES (@event_id, @endpoint_id, @status, @last_error)
ON CONFLICT (event_id, endpoint_id) DO UPDATE SET
    status = EXCLUDED.status,
    last_error = COALESCE(EXCLUDED.last_error, webhook_deliveries.last_error),
    updated_at = now()
WHERE webhook_deliveries.status <> 'delivered';
