-- name: GetTaxEstimate :one
SELECT * FROM tax_estimates WHERE request_hash = @request_hash AND created_at > @fresh_after;

-- name: PutTaxEstimate :exec
INSERT INTO tax_estimates (request_hash, response, created_at) VALUES (@request_hash, @response, now())
ON CONFLICT (request_hash) DO UPDATE SET response = EXCLUDED.response, created_at = EXCLUDED.created_at;

-- name: DeleteStaleTaxEstimates :exec
DELETE FROM tax_estimates WHERE created_at < @before;
