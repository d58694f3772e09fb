-- Rate limits held across every worker process: one row per limited key (a Stripe account,
-- an Anrok connection) holding the theoretical arrival time of the next request (GCRA).
-- requests_per_second on the accounts sets their limit (NULL: the provider's default).

-- +goose Up
CREATE TABLE rate_limits (
    key text PRIMARY KEY,
    tat timestamptz NOT NULL
);
ALTER TABLE stripe_accounts ADD COLUMN requests_per_second integer
    CHECK (requests_per_second BETWEEN 1 AND 10000);
ALTER TABLE anrok_connections ADD COLUMN requests_per_second integer
    CHECK (requests_per_second BETWEEN 1 AND 10000);

-- +goose Down
ALTER TABLE anrok_connections DROP COLUMN requests_per_second;
ALTER TABLE stripe_accounts DROP COLUMN requests_per_second;
DROP TABLE rate_limits;
