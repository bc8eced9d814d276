#!/bin/sh
# First start of the PostgreSQL container (docker-entrypoint-initdb.d): the application's
# roles. POSTGRES_USER owns the schema and runs the migrations; the application logs in as
# primaires_web, a member of primaires_app, which the migrations grant SELECT/INSERT only on
# the audit log's tables (see services/migrations/privileges.py).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$PRIMAIRES_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE primaires_app NOLOGIN;
CREATE ROLE primaires_web LOGIN PASSWORD :'app_password' IN ROLE primaires_app;
SQL
