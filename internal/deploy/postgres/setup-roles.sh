#!/bin/sh
# One-shot (compose service postgres-setup, image postgres): makes PostgreSQL ready for
# taxflow and Temporal, idempotently, on every `docker compose up`:
#   - role taxflow (login, no other right) owning database taxflow: taxflow's own migrations
#     run at start under an advisory lock, as this role;
#   - role temporal (login, CREATEDB): temporal-schema creates and migrates Temporal's two
#     databases, temporal and temporal_visibility, as this role.
# The passwords are (re)set from the environment each time, so changing PG_TAXFLOW_PASSWORD
# or PG_TEMPORAL_PASSWORD and running `docker compose up -d` rotates them.
# Connects as the superuser: PGHOST, PGUSER, PGPASSWORD.
set -eu
: "${PGHOST:?set PGHOST}" "${PGUSER:?set PGUSER}" "${PGPASSWORD:?set PGPASSWORD}"
: "${PG_TAXFLOW_PASSWORD:?set PG_TAXFLOW_PASSWORD}" "${PG_TEMPORAL_PASSWORD:?set PG_TEMPORAL_PASSWORD}"

# psql substitutes :'var' as a quoted literal; the passwords never appear on a command line
# that `ps` could show, and are not echoed.
psql -v ON_ERROR_STOP=1 -q -X -d "${PGDATABASE:-postgres}" \
  -v taxflow_pw="$PG_TAXFLOW_PASSWORD" -v temporal_pw="$PG_TEMPORAL_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE taxflow' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'taxflow')
\gexec
ALTER ROLE taxflow WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'taxflow_pw';
SELECT 'CREATE ROLE temporal' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'temporal')
\gexec
ALTER ROLE temporal WITH LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD :'temporal_pw';
SELECT 'CREATE DATABASE taxflow OWNER taxflow' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'taxflow')
\gexec
SQL
echo "postgres-setup: roles taxflow and temporal and database taxflow are ready"
