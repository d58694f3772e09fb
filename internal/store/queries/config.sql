-- name: UpsertStripeAccount :one
INSERT INTO stripe_accounts (id, alias, api_key_sealed, api_key_hint, webhook_secret_sealed, base_url, settings, requests_per_second)
VALUES (@id, @alias, @api_key_sealed, @api_key_hint, @webhook_secret_sealed, @base_url, @settings, @requests_per_second)
ON CONFLICT (id) DO UPDATE SET
    alias = EXCLUDED.alias,
    requests_per_second = EXCLUDED.requests_per_second,
    api_key_sealed = EXCLUDED.api_key_sealed,
    api_key_hint = EXCLUDED.api_key_hint,
    webhook_secret_sealed = EXCLUDED.webhook_secret_sealed,
    base_url = EXCLUDED.base_url,
    settings = EXCLUDED.settings,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetStripeAccount :one
SELECT * FROM stripe_accounts WHERE id = @id;

-- name: UpsertAnrokConnection :one
INSERT INTO anrok_connections (id, name, api_key_sealed, api_key_hint, base_url, environment,
    accounting_time_zone, fallback_product_id, transaction_prefix, is_default, requests_per_second)
VALUES (@id, @name, @api_key_sealed, @api_key_hint, @base_url, @environment,
    @accounting_time_zone, @fallback_product_id, @transaction_prefix, @is_default, @requests_per_second)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    requests_per_second = EXCLUDED.requests_per_second,
    api_key_sealed = EXCLUDED.api_key_sealed,
    api_key_hint = EXCLUDED.api_key_hint,
    base_url = EXCLUDED.base_url,
    environment = EXCLUDED.environment,
    accounting_time_zone = EXCLUDED.accounting_time_zone,
    fallback_product_id = EXCLUDED.fallback_product_id,
    transaction_prefix = EXCLUDED.transaction_prefix,
    is_default = EXCLUDED.is_default,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: ClearDefaultAnrokConnection :exec
UPDATE anrok_connections SET is_default = false, updated_at = now()
WHERE is_default AND id <> @keep_id;

-- name: GetAnrokConnection :one
SELECT * FROM anrok_connections WHERE id = @id;

-- name: GetDefaultAnrokConnection :one
-- The default connection: the one marked default, else the only one.
SELECT * FROM anrok_connections
WHERE is_default OR (SELECT count(*) FROM anrok_connections) = 1
ORDER BY is_default DESC
LIMIT 1;

-- name: UpsertProduct :one
INSERT INTO products (id, name, stripe_product_id, anrok_product_id)
VALUES (@id, @name, @stripe_product_id, @anrok_product_id)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    stripe_product_id = EXCLUDED.stripe_product_id,
    anrok_product_id = EXCLUDED.anrok_product_id,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetProduct :one
SELECT * FROM products WHERE id = @id;

-- name: GetProducts :many
SELECT * FROM products WHERE id = ANY(@ids::text[]) ORDER BY id;

-- name: UpsertCustomer :one
INSERT INTO customers (id, name, email, billing_address, shipping_address, tax_ids,
    anrok_customer_id, anrok_connection_id)
VALUES (@id, @name, @email, @billing_address, @shipping_address, @tax_ids,
    @anrok_customer_id, @anrok_connection_id)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name,
    email = EXCLUDED.email,
    billing_address = EXCLUDED.billing_address,
    shipping_address = EXCLUDED.shipping_address,
    tax_ids = EXCLUDED.tax_ids,
    anrok_customer_id = EXCLUDED.anrok_customer_id,
    anrok_connection_id = EXCLUDED.anrok_connection_id,
    updated_at = now()
RETURNING *, (xmax = 0)::boolean AS inserted;

-- name: GetCustomer :one
SELECT * FROM customers WHERE id = @id;

-- name: DeleteBillingConfigurationsExcept :exec
DELETE FROM billing_configurations WHERE customer_id = @customer_id AND NOT (id = ANY(@keep_ids::text[]));

-- name: UpsertBillingConfiguration :exec
INSERT INTO billing_configurations (customer_id, id, stripe_account_id, stripe_customer_id, collection_method)
VALUES (@customer_id, @id, @stripe_account_id, @stripe_customer_id, @collection_method)
ON CONFLICT (customer_id, id) DO UPDATE SET
    stripe_account_id = EXCLUDED.stripe_account_id,
    stripe_customer_id = EXCLUDED.stripe_customer_id,
    collection_method = EXCLUDED.collection_method;

-- name: ListBillingConfigurations :many
SELECT * FROM billing_configurations WHERE customer_id = @customer_id ORDER BY id;

-- name: GetBillingConfiguration :one
SELECT * FROM billing_configurations WHERE customer_id = @customer_id AND id = @id;
