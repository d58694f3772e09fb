-- Disputes of an invoice's payment, and credit notes: each credit note is a Stripe credit
-- note and a negative Anrok transaction of its own.

-- +goose Up
ALTER TABLE invoices ADD COLUMN dispute_status text CHECK (dispute_status IN ('opened', 'won', 'lost'));
ALTER TABLE invoices ADD COLUMN dispute_id text;

CREATE TABLE credit_notes (
    invoice_id            text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    id                    text NOT NULL,
    status                text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'issued', 'refused')),
    reason                text,
    memo                  text,
    request_hash          text NOT NULL,
    -- amount is the pre-tax amount credited; tax is Anrok's answer (positive); total both.
    amount                bigint NOT NULL,
    tax                   bigint NOT NULL DEFAULT 0,
    total                 bigint NOT NULL DEFAULT 0,
    stripe_credit_note_id text,
    anrok_transaction_id  text,
    error_code            text,
    error_message         text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    issued_at             timestamptz,
    PRIMARY KEY (invoice_id, id)
);

CREATE TABLE credit_note_lines (
    invoice_id     text NOT NULL,
    credit_note_id text NOT NULL,
    line_id        text NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    tax            bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (invoice_id, credit_note_id, line_id),
    FOREIGN KEY (invoice_id, credit_note_id) REFERENCES credit_notes (invoice_id, id) ON DELETE CASCADE,
    FOREIGN KEY (invoice_id, line_id) REFERENCES invoice_lines (invoice_id, id)
);

-- +goose Down
DROP TABLE credit_note_lines;
DROP TABLE credit_notes;
ALTER TABLE invoices DROP COLUMN dispute_id;
ALTER TABLE invoices DROP COLUMN dispute_status;
