-- name: InsertInvoice :one
-- Inserts a new invoice; returns nothing when the id exists (the caller compares hashes).
INSERT INTO invoices (id, customer_id, currency, issued_at, period_start, period_end,
    billing_configuration_id, stripe_account_id, anrok_connection_id, metadata, request_hash,
    subtotal, total, workflow_id)
VALUES (@id, @customer_id, @currency, @issued_at, @period_start, @period_end,
    @billing_configuration_id, @stripe_account_id, @anrok_connection_id, @metadata, @request_hash,
    @subtotal, @total, @workflow_id)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: InsertInvoiceLines :copyfrom
INSERT INTO invoice_lines (invoice_id, id, position, product_id, description, quantity, unit_price, amount, tax_inclusive)
VALUES (@invoice_id, @id, @position, @product_id, @description, @quantity, @unit_price, @amount, @tax_inclusive);

-- name: GetInvoice :one
SELECT * FROM invoices WHERE id = @id;

-- name: GetInvoiceBundle :one
-- An invoice with its customer, Stripe account, billing configuration and Anrok connection
-- in one round trip (every activity reads them). The connection: the one the invoice was
-- checked with (unless resolve_connection: the check step uses today's configuration), else
-- the customer's, else the default one (the one marked default, else the only one). No row
-- when anything is missing: the caller then reads record by record to say what.
SELECT sqlc.embed(i), sqlc.embed(c), sqlc.embed(s), sqlc.embed(b), sqlc.embed(a)
FROM invoices i
JOIN customers c ON c.id = i.customer_id
JOIN stripe_accounts s ON s.id = i.stripe_account_id
JOIN billing_configurations b ON b.customer_id = i.customer_id AND b.id = i.billing_configuration_id
JOIN anrok_connections a ON a.id = CASE
    WHEN NOT @resolve_connection::boolean AND i.anrok_connection_id IS NOT NULL THEN i.anrok_connection_id
    WHEN c.anrok_connection_id IS NOT NULL THEN c.anrok_connection_id
    ELSE (SELECT d.id FROM anrok_connections d
          WHERE d.is_default OR (SELECT count(*) FROM anrok_connections) = 1
          ORDER BY d.is_default DESC LIMIT 1)
    END
WHERE i.id = @id;

-- name: ListInvoiceLinesWithProducts :many
-- An invoice's lines in order, each with its product (invoice_lines.product_id references
-- products, so every line has one).
SELECT sqlc.embed(l), sqlc.embed(p)
FROM invoice_lines l
JOIN products p ON p.id = l.product_id
WHERE l.invoice_id = @invoice_id
ORDER BY l.position;

-- name: GetInvoiceForUpdate :one
SELECT * FROM invoices WHERE id = @id FOR UPDATE;

-- name: ListInvoiceLines :many
SELECT * FROM invoice_lines WHERE invoice_id = @invoice_id ORDER BY position;

-- name: MarkWorkflowStarted :exec
UPDATE invoices SET workflow_started_at = coalesce(workflow_started_at, now()) WHERE id = @id;

-- name: ListUnstartedInvoices :many
SELECT id, workflow_id FROM invoices
WHERE workflow_started_at IS NULL AND created_at < @created_before
ORDER BY created_at
LIMIT @max_rows;

-- name: SetInvoiceProgress :exec
-- Records the step the workflow is at, and the status it implies.
UPDATE invoices SET step = @step, status = @status, updated_at = now() WHERE id = @id;

-- name: SetInvoiceTaxStatus :exec
UPDATE invoices SET tax_status = @tax_status, updated_at = now() WHERE id = @id;

-- name: SetInvoiceChecked :exec
-- The check step's outcome: the connection the invoice will use, and the next step.
UPDATE invoices SET anrok_connection_id = @anrok_connection_id, step = @step, updated_at = now() WHERE id = @id;

-- name: SetStripeInvoice :exec
-- The Stripe draft's id, and the next step.
UPDATE invoices SET stripe_invoice_id = @stripe_invoice_id, step = @step, updated_at = now() WHERE id = @id;

-- name: UpsertTaxResult :exec
INSERT INTO tax_results (invoice_id, kind, engine, tax_amount, pre_tax_amount, transaction_id, transaction_version, calculated_at)
VALUES (@invoice_id, @kind, @engine, @tax_amount, @pre_tax_amount, @transaction_id, @transaction_version, @calculated_at)
ON CONFLICT (invoice_id, kind) DO UPDATE SET
    engine = EXCLUDED.engine,
    tax_amount = EXCLUDED.tax_amount,
    pre_tax_amount = EXCLUDED.pre_tax_amount,
    transaction_id = EXCLUDED.transaction_id,
    transaction_version = EXCLUDED.transaction_version,
    calculated_at = EXCLUDED.calculated_at;

-- name: DeleteLineTaxResults :exec
DELETE FROM line_tax_results WHERE invoice_id = @invoice_id AND kind = @kind;

-- name: InsertLineTaxResults :exec
-- Every line of a tax answer in one statement: element i of each array is line i. (COPY
-- would cost a round trip more, to describe the table, for the one or few lines most
-- invoices have; unnest takes thousands as well.) Amounts before tax and the JSON go as
-- text, exactly as written.
INSERT INTO line_tax_results (invoice_id, kind, line_id, tax_amount, pre_tax_amount, jurisdictions, raw)
SELECT @invoice_id::text, @kind::text, v.line_id, v.tax_amount, v.pre_tax_amount::numeric, v.jurisdictions::jsonb, v.raw::jsonb
FROM (SELECT unnest(@line_ids::text[]) AS line_id, unnest(@tax_amounts::bigint[]) AS tax_amount,
    unnest(@pre_tax_amounts::text[]) AS pre_tax_amount, unnest(@jurisdictions::text[]) AS jurisdictions,
    unnest(@raws::text[]) AS raw) v;

-- name: GetTaxResult :one
SELECT * FROM tax_results WHERE invoice_id = @invoice_id AND kind = @kind;

-- name: ListLineTaxResults :many
SELECT * FROM line_tax_results WHERE invoice_id = @invoice_id AND kind = @kind;

-- name: SetInvoiceTax :exec
-- total = subtotal + the tax not already included in line amounts.
UPDATE invoices SET tax = @tax, total = subtotal + @exclusive_tax::bigint, tax_status = @tax_status, updated_at = now()
WHERE id = @id;

-- name: SetInvoiceTaxResult :exec
-- A tax answer saved: tax and total (total = subtotal + the tax not already included in
-- line amounts), tax status, the next step, and the Anrok transaction when the answer
-- committed one (NULL keeps what is recorded).
UPDATE invoices SET tax = @tax, total = subtotal + @exclusive_tax::bigint, tax_status = @tax_status, step = @step,
    anrok_transaction_id = coalesce(sqlc.narg(anrok_transaction_id), anrok_transaction_id),
    anrok_transaction_version = coalesce(sqlc.narg(anrok_transaction_version), anrok_transaction_version),
    anrok_transaction_status = coalesce(sqlc.narg(anrok_transaction_status), anrok_transaction_status),
    updated_at = now()
WHERE id = @id;

-- name: SetInvoiceFinalized :exec
UPDATE invoices SET status = 'finalized', step = 'watch', stripe_invoice_number = @stripe_invoice_number,
    stripe_finalized_at = @stripe_finalized_at, external_status = 'FINALIZED', updated_at = now()
WHERE id = @id;

-- name: SetInvoiceVoided :exec
UPDATE invoices SET status = 'void', external_status = 'VOID', updated_at = now() WHERE id = @id;

-- name: InsertInvoiceError :exec
INSERT INTO invoice_errors (invoice_id, step, provider, class, code, message, at)
VALUES (@invoice_id, @step, @provider, @class, @code, @message, @at);

-- name: ResolveInvoiceErrors :exec
UPDATE invoice_errors SET resolved_at = @resolved_at WHERE invoice_id = @invoice_id AND resolved_at IS NULL;

-- name: ListInvoiceErrors :many
SELECT * FROM invoice_errors WHERE invoice_id = @invoice_id ORDER BY id;

-- name: SetLineTaxes :exec
UPDATE invoice_lines l SET tax = v.tax
FROM (SELECT unnest(@line_ids::text[]) AS id, unnest(@taxes::bigint[]) AS tax) AS v
WHERE l.invoice_id = @invoice_id AND l.id = v.id;

-- name: SetLinesStripeIDs :exec
UPDATE invoice_lines l SET stripe_line_item_id = v.line_item_id, stripe_invoice_item_id = nullif(v.invoice_item_id, '')
FROM (SELECT unnest(@line_ids::text[]) AS id, unnest(@line_item_ids::text[]) AS line_item_id,
             unnest(@invoice_item_ids::text[]) AS invoice_item_id) AS v
WHERE l.invoice_id = @invoice_id AND l.id = v.id;

-- name: SetInvoiceFailed :exec
UPDATE invoices SET status = CASE WHEN @keep_status::boolean THEN status ELSE 'failed' END,
    tax_status = CASE WHEN @tax_failed::boolean THEN 'failed' ELSE tax_status END,
    step = @step, updated_at = now()
WHERE id = @id;

-- name: SetAnrokTransactionStatus :exec
UPDATE invoices SET anrok_transaction_status = @anrok_transaction_status, tax_status = @tax_status, updated_at = now()
WHERE id = @id;

-- name: SetDraftTaxFingerprint :exec
UPDATE invoices SET stripe_draft_tax_fingerprint = @fingerprint, updated_at = now() WHERE id = @id;

-- name: SetDraftLinesWritten :exec
-- The draft's lines are written: the tax they carry (its fingerprint), the next step and
-- the status.
UPDATE invoices SET stripe_draft_tax_fingerprint = @fingerprint, step = @step, status = @status, updated_at = now()
WHERE id = @id;

-- name: SetInvoiceStripeAccount :exec
UPDATE invoices SET stripe_account_id = @stripe_account_id, updated_at = now()
WHERE id = @id AND stripe_invoice_id IS NULL;

-- name: SetInvoicePaid :exec
UPDATE invoices SET status = 'paid', external_status = 'PAID', updated_at = now() WHERE id = @id;

-- name: CountInvoicesOfConnection :one
SELECT count(*) FROM invoices WHERE anrok_connection_id = @anrok_connection_id AND anrok_transaction_id IS NOT NULL;

-- name: SetExternalStatus :exec
-- Mirrors the Stripe invoice's status; status follows it where Stripe's state decides
-- (paid, void, uncollectible), and stays otherwise.
UPDATE invoices SET external_status = @external_status,
    status = coalesce(sqlc.narg(status)::text, status), updated_at = now()
WHERE id = @id;

-- name: SetInvoiceSkipped :exec
UPDATE invoices SET status = 'skipped', tax_status = 'not_applicable', step = 'done', updated_at = now() WHERE id = @id;

-- name: InsertStripeEvent :one
-- Records a Stripe event id; returns nothing when it was seen before.
INSERT INTO stripe_events (id, stripe_account_id, type, invoice_id)
VALUES (@id, @stripe_account_id, @type, @invoice_id)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- name: GetStripeEvent :one
SELECT * FROM stripe_events WHERE id = @id;

-- name: GetInvoiceByStripeID :one
SELECT * FROM invoices WHERE stripe_invoice_id = @stripe_invoice_id;

-- name: CountInvoicesByStatus :many
SELECT status, tax_status, count(*)::bigint AS n FROM invoices GROUP BY status, tax_status;

-- name: ListInvoices :many
-- A page of invoices in id order after the cursor, each filter applied when given.
SELECT id, customer_id, currency, issued_at, stripe_account_id, status, tax_status, step,
    subtotal, tax, total, stripe_invoice_id, external_status, anrok_transaction_id,
    anrok_transaction_status, workflow_id, created_at, updated_at
FROM invoices
WHERE id > sqlc.arg(after_id)::text
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
  AND (sqlc.narg(tax_status)::text IS NULL OR tax_status = sqlc.narg(tax_status)::text)
  AND (sqlc.narg(customer_id)::text IS NULL OR customer_id = sqlc.narg(customer_id)::text)
  AND (sqlc.narg(stripe_account_id)::text IS NULL OR stripe_account_id = sqlc.narg(stripe_account_id)::text)
ORDER BY id
LIMIT sqlc.arg(page_size)::int;
