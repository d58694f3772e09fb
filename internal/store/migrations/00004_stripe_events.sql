-- Stripe webhook events taxflow has acted on: a duplicate delivery is acknowledged and
-- ignored.

-- +goose Up
CREATE TABLE stripe_events (
    id                text PRIMARY KEY,
    stripe_account_id text NOT NULL,
    type              text NOT NULL,
    invoice_id        text,
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_invoice ON stripe_events (invoice_id, received_at);

-- +goose Down
DROP TABLE stripe_events;
