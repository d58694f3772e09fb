-- name: ListInvoicesReceivedBetween :many
-- The invoices received in [received_from, received_to), each filter applied when given:
-- taxflow's side of a reconciliation (internal/reconcile). Every query here is read-only.
SELECT id, customer_id, currency, status, tax_status, step, subtotal, tax, total,
    stripe_account_id, anrok_connection_id, stripe_invoice_id, external_status,
    anrok_transaction_id, anrok_transaction_status, dispute_status, created_at
FROM invoices
WHERE created_at >= sqlc.arg(received_from)::timestamptz
  AND created_at < sqlc.arg(received_to)::timestamptz
  AND (sqlc.narg(stripe_account_id)::text IS NULL OR stripe_account_id = sqlc.narg(stripe_account_id)::text)
  AND (sqlc.narg(anrok_connection_id)::text IS NULL OR anrok_connection_id = sqlc.narg(anrok_connection_id)::text)
ORDER BY created_at, id;

-- name: ListCreditNotesOfInvoices :many
SELECT invoice_id, id, status, tax, total, stripe_credit_note_id, anrok_transaction_id
FROM credit_notes
WHERE invoice_id = ANY(sqlc.arg(invoice_ids)::text[])
ORDER BY invoice_id, id;

-- name: ExistingInvoiceIDs :many
-- Which of ids taxflow has, whenever they were received.
SELECT id FROM invoices WHERE id = ANY(sqlc.arg(ids)::text[]);

-- name: ListStripeAccounts :many
SELECT * FROM stripe_accounts ORDER BY id;

-- name: ListAnrokConnections :many
SELECT * FROM anrok_connections ORDER BY id;
