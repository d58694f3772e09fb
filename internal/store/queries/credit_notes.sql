-- name: SetDispute :exec
UPDATE invoices SET dispute_status = @dispute_status, dispute_id = coalesce(sqlc.narg(dispute_id), dispute_id), updated_at = now()
WHERE id = @id;

-- name: InsertCreditNote :one
INSERT INTO credit_notes (invoice_id, id, reason, memo, request_hash, amount)
VALUES (@invoice_id, @id, @reason, @memo, @request_hash, @amount)
ON CONFLICT (invoice_id, id) DO NOTHING
RETURNING id;

-- name: InsertCreditNoteLines :copyfrom
INSERT INTO credit_note_lines (invoice_id, credit_note_id, line_id, amount)
VALUES (@invoice_id, @credit_note_id, @line_id, @amount);

-- name: GetCreditNote :one
SELECT * FROM credit_notes WHERE invoice_id = @invoice_id AND id = @id;

-- name: ListCreditNotes :many
SELECT * FROM credit_notes WHERE invoice_id = @invoice_id ORDER BY created_at, id;

-- name: ListCreditNoteLines :many
SELECT * FROM credit_note_lines WHERE invoice_id = @invoice_id AND credit_note_id = @credit_note_id ORDER BY line_id;

-- name: CreditedPerLine :many
-- What credit notes not refused have taken off each line so far.
SELECT l.line_id, sum(l.amount)::bigint AS credited
FROM credit_note_lines l JOIN credit_notes c ON c.invoice_id = l.invoice_id AND c.id = l.credit_note_id
WHERE l.invoice_id = @invoice_id AND c.status <> 'refused'
GROUP BY l.line_id;

-- name: SetCreditNoteIssued :exec
UPDATE credit_notes SET status = 'issued', tax = @tax, total = amount + @tax::bigint, stripe_credit_note_id = @stripe_credit_note_id,
    anrok_transaction_id = @anrok_transaction_id, issued_at = @issued_at, error_code = NULL, error_message = NULL
WHERE invoice_id = @invoice_id AND id = @id;

-- name: SetCreditNoteAnrok :exec
UPDATE credit_notes SET anrok_transaction_id = @anrok_transaction_id, tax = @tax, total = amount + @tax::bigint
WHERE invoice_id = @invoice_id AND id = @id;

-- name: SetCreditNoteLineTaxes :exec
UPDATE credit_note_lines l SET tax = v.tax
FROM (SELECT unnest(@line_ids::text[]) AS id, unnest(@taxes::bigint[]) AS tax) AS v
WHERE l.invoice_id = @invoice_id AND l.credit_note_id = @credit_note_id AND l.line_id = v.id;

-- name: SetCreditNoteRefused :exec
UPDATE credit_notes SET status = 'refused', error_code = @error_code, error_message = @error_message
WHERE invoice_id = @invoice_id AND id = @id;

-- name: ListInvoicesWithOpenErrors :many
-- Failed invoices (an error not resolved by a retry), by id, a page at a time.
SELECT DISTINCT invoice_id FROM invoice_errors
WHERE resolved_at IS NULL AND invoice_id > @after
ORDER BY invoice_id
LIMIT @max_rows;

-- name: CountInvoicesWithOpenErrors :one
SELECT count(DISTINCT invoice_id) FROM invoice_errors
WHERE resolved_at IS NULL AND invoice_id = ANY(@ids::text[]);
