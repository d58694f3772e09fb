-- Outgoing webhooks ("alerts", package internal/alerts): the endpoints operators register,
-- the events taxflow emits (a transactional outbox: an event row commits together with the
-- state change it announces) and the delivery of each event to each subscribed endpoint.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id            text PRIMARY KEY,
    url           text NOT NULL,
    -- The signing secret, sealed by internal/secretbox under
    -- "webhook_endpoints/<id>/secret"; write-only, never returned.
    secret_sealed text NOT NULL,
    -- Event types the endpoint receives, or {'*'} for every type.
    events        text[] NOT NULL CHECK (cardinality(events) > 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outgoing_events (
    id            text PRIMARY KEY,
    type          text NOT NULL,
    invoice_id    text NOT NULL DEFAULT '',
    customer_id   text NOT NULL DEFAULT '',
    -- The exact JSON body every delivery of the event sends (and signs).
    body          text NOT NULL,
    created_at    timestamptz NOT NULL,
    -- Set once a dispatcher has started a delivery for every subscribed endpoint.
    dispatched_at timestamptz
);
-- The dispatcher's queue: only the undispatched events, oldest first.
CREATE INDEX outgoing_events_undispatched ON outgoing_events (created_at, id) WHERE dispatched_at IS NULL;
CREATE INDEX outgoing_events_invoice ON outgoing_events (invoice_id, created_at);

-- One row per (event, endpoint) a delivery workflow was started for. No foreign key to the
-- endpoint: deleting an endpoint keeps the record of what was sent to it.
CREATE TABLE webhook_deliveries (
    event_id         text NOT NULL REFERENCES outgoing_events (id) ON DELETE CASCADE,
    endpoint_id      text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed', 'canceled')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_error       text,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE outgoing_events;
DROP TABLE webhook_endpoints;
