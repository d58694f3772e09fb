-- taxflow's initial schema. Postgres owns the data (the workflow owns the process): the API
-- reads from here, never from workflow queries. Money is bigint in the currency's minor
-- unit; quantities and rates are numeric; Anrok's answers are also kept verbatim (jsonb).

-- +goose Up
CREATE TABLE stripe_accounts (
    id                    text PRIMARY KEY,
    alias                 text NOT NULL,
    -- Secrets are sealed by internal/secretbox (AES-256-GCM) and never returned.
    api_key_sealed        text NOT NULL,
    api_key_hint          text NOT NULL,
    webhook_secret_sealed text,
    base_url              text,
    settings              jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE anrok_connections (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    api_key_sealed       text NOT NULL,
    api_key_hint         text NOT NULL,
    base_url             text,
    environment          text NOT NULL CHECK (environment IN ('sandbox', 'production')),
    accounting_time_zone text,
    fallback_product_id  text,
    transaction_prefix   text NOT NULL,
    is_default           boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
-- At most one default connection.
CREATE UNIQUE INDEX anrok_connections_one_default ON anrok_connections (is_default) WHERE is_default;

CREATE TABLE products (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    stripe_product_id text,
    anrok_product_id  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id                  text PRIMARY KEY,
    name                text NOT NULL,
    email               text,
    billing_address     jsonb,
    shipping_address    jsonb,
    tax_ids             jsonb NOT NULL DEFAULT '[]',
    anrok_customer_id   text,
    anrok_connection_id text REFERENCES anrok_connections (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE billing_configurations (
    customer_id        text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    id                 text NOT NULL,
    stripe_account_id  text NOT NULL REFERENCES stripe_accounts (id),
    stripe_customer_id text NOT NULL,
    collection_method  text NOT NULL CHECK (collection_method IN ('charge_automatically', 'send_invoice')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, id)
);

CREATE TABLE invoices (
    id                        text PRIMARY KEY,
    customer_id               text NOT NULL REFERENCES customers (id),
    currency                  text NOT NULL,
    issued_at                 timestamptz NOT NULL,
    period_start              timestamptz NOT NULL,
    period_end                timestamptz NOT NULL,
    billing_configuration_id  text NOT NULL,
    stripe_account_id         text NOT NULL REFERENCES stripe_accounts (id),
    anrok_connection_id       text REFERENCES anrok_connections (id),
    metadata                  jsonb NOT NULL DEFAULT '{}',
    -- sha256 of the canonical request: the same id with another body is a conflict.
    request_hash              text NOT NULL,
    status                    text NOT NULL DEFAULT 'received' CHECK (status IN
        ('received', 'draft', 'finalized', 'paid', 'void', 'uncollectible', 'failed', 'skipped')),
    tax_status                text NOT NULL DEFAULT 'pending' CHECK (tax_status IN
        ('pending', 'calculated', 'committed', 'failed', 'voided', 'negated', 'not_applicable')),
    -- The step the workflow is at (or failed at), for retries and the UI.
    step                      text NOT NULL DEFAULT 'check',
    subtotal                  bigint NOT NULL,
    tax                       bigint NOT NULL DEFAULT 0,
    total                     bigint NOT NULL,
    stripe_invoice_id         text UNIQUE,
    stripe_invoice_number     text,
    stripe_finalized_at       timestamptz,
    external_status           text CHECK (external_status IN
        ('FINALIZED', 'PAID', 'PAYMENT_FAILED', 'UNCOLLECTIBLE', 'VOID', 'DELETED')),
    anrok_transaction_id      text,
    anrok_transaction_version bigint,
    anrok_transaction_status  text CHECK (anrok_transaction_status IN ('committed', 'voided', 'negated')),
    workflow_id               text NOT NULL,
    workflow_started_at       timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoices_status ON invoices (status, id);
CREATE INDEX invoices_customer ON invoices (customer_id, id);
CREATE INDEX invoices_unstarted ON invoices (created_at) WHERE workflow_started_at IS NULL;

CREATE TABLE invoice_lines (
    invoice_id  text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    id          text NOT NULL,
    position    integer NOT NULL,
    product_id  text NOT NULL REFERENCES products (id),
    description text,
    quantity    numeric,
    unit_price  numeric,
    amount      bigint NOT NULL,
    tax         bigint NOT NULL DEFAULT 0,
    stripe_line_item_id    text,
    stripe_invoice_item_id text,
    PRIMARY KEY (invoice_id, id),
    UNIQUE (invoice_id, position)
);

-- One row per invoice and kind of tax result: 'calculated' (ephemeral, on the draft) and
-- 'committed' (the Anrok transaction recorded for filing).
CREATE TABLE tax_results (
    invoice_id          text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    kind                text NOT NULL CHECK (kind IN ('calculated', 'committed')),
    engine              text NOT NULL,
    tax_amount          bigint NOT NULL,
    pre_tax_amount      numeric NOT NULL,
    transaction_id      text,
    transaction_version bigint,
    calculated_at       timestamptz NOT NULL,
    PRIMARY KEY (invoice_id, kind)
);

-- Per-line tax as the engine answered it: the integer tax taxflow bills, the breakdown by
-- jurisdiction (normalized) and the engine's own answer verbatim.
CREATE TABLE line_tax_results (
    invoice_id     text NOT NULL,
    kind           text NOT NULL,
    line_id        text NOT NULL,
    tax_amount     bigint NOT NULL,
    pre_tax_amount numeric NOT NULL,
    jurisdictions  jsonb NOT NULL,
    raw            jsonb NOT NULL,
    PRIMARY KEY (invoice_id, kind, line_id),
    FOREIGN KEY (invoice_id, kind) REFERENCES tax_results (invoice_id, kind) ON DELETE CASCADE,
    FOREIGN KEY (invoice_id, line_id) REFERENCES invoice_lines (invoice_id, id) ON DELETE CASCADE
);

CREATE TABLE invoice_errors (
    id          bigserial PRIMARY KEY,
    invoice_id  text NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    step        text NOT NULL,
    provider    text NOT NULL,
    class       text NOT NULL,
    code        text NOT NULL,
    message     text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX invoice_errors_invoice ON invoice_errors (invoice_id, id);

-- +goose Down
DROP TABLE invoice_errors;
DROP TABLE line_tax_results;
DROP TABLE tax_results;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE billing_configurations;
DROP TABLE customers;
DROP TABLE products;
DROP TABLE anrok_connections;
DROP TABLE stripe_accounts;
