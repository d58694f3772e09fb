-- Lines whose amount already includes tax (Anrok's isTaxIncludedInAmount; Stripe's
-- inclusive tax behaviour).

-- +goose Up
ALTER TABLE invoice_lines ADD COLUMN tax_inclusive boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE invoice_lines DROP COLUMN tax_inclusive;
