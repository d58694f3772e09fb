-- name: ReserveRateSlot :one
-- Takes the next send slot of the limited key, spacing_us after the previous one, unless
-- the slots already taken reach more than max_wait_us ahead (then no row). wait_us is how
-- long the caller waits before sending (negative: at once). Postgres' clock decides, so
-- workers' clocks do not matter.
INSERT INTO rate_limits (key, tat)
VALUES (sqlc.arg(limit_key), clock_timestamp() + make_interval(secs => sqlc.arg(spacing_us)::bigint / 1000000.0))
ON CONFLICT (key) DO UPDATE
SET tat = GREATEST(rate_limits.tat, clock_timestamp()) + make_interval(secs => sqlc.arg(spacing_us)::bigint / 1000000.0)
WHERE rate_limits.tat - clock_timestamp() <= make_interval(secs => sqlc.arg(max_wait_us)::bigint / 1000000.0)
RETURNING ((EXTRACT(EPOCH FROM (rate_limits.tat - clock_timestamp())) * 1000000)::bigint - sqlc.arg(spacing_us)::bigint)::bigint AS wait_us;

-- name: RateBacklog :one
-- How far ahead the slots of the limited key are taken, in microseconds (negative: idle).
SELECT ((EXTRACT(EPOCH FROM (tat - clock_timestamp())) * 1000000)::bigint)::bigint AS backlog_us
FROM rate_limits WHERE key = sqlc.arg(limit_key);
