-- What taxflow last wrote to the Stripe draft's tax (a fingerprint of every line's tax
-- amounts), so finalization rewrites the draft exactly when it carries something else; and
-- one Anrok transaction id per connection, ever.

-- +goose Up
ALTER TABLE invoices ADD COLUMN stripe_draft_tax_fingerprint text;
CREATE UNIQUE INDEX invoices_anrok_transaction ON invoices (anrok_connection_id, anrok_transaction_id)
    WHERE anrok_transaction_id IS NOT NULL;

-- +goose Down
DROP INDEX invoices_anrok_transaction;
ALTER TABLE invoices DROP COLUMN stripe_draft_tax_fingerprint;
