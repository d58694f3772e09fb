#!/bin/sh
# One-shot (compose service temporal-schema, image temporalio/admin-tools): creates
# Temporal's two databases on PostgreSQL and brings their schemas to the version this image
# ships, with Temporal's own temporal-sql-tool. Every step is idempotent: create-database
# ignores an existing database, setup-schema -v 0.0 skips a versioned schema, update-schema
# applies only the newer versions. So the same run sets up a new cluster and, after the
# admin-tools and server tags are raised together, upgrades an existing one before the new
# server starts.
# Connection: SQL_PLUGIN (postgres12), SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD, read by
# temporal-sql-tool itself.
set -eu
: "${SQL_PLUGIN:?set SQL_PLUGIN (postgres12)}" "${SQL_HOST:?set SQL_HOST}" "${SQL_USER:?set SQL_USER}" "${SQL_PASSWORD:?set SQL_PASSWORD}"
schema_root=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
sql_tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}

for pair in "${TEMPORAL_DB:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}:visibility"; do
  db=${pair%%:*}
  dir=$schema_root/${pair#*:}/versioned
  [ -d "$dir" ] || { echo "temporal-schema: no schema directory $dir" >&2; exit 1; }
  echo "temporal-schema: database $db, schema from $dir"
  "$sql_tool" --db "$db" create-database
  "$sql_tool" --db "$db" setup-schema -v 0.0
  "$sql_tool" --db "$db" update-schema -d "$dir"
done
echo "temporal-schema: done"
