#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data directory
# (mounted into /docker-entrypoint-initdb.d). It creates the roles the app uses:
#   campaign_app     NOLOGIN; migration 0004 grants it the table rights (and creates it if missing)
#   campaign_worker  LOGIN, member of campaign_app, password from CAMPAIGN_WORKER_DB_PASSWORD.
# Workers log in as campaign_worker: not a superuser, so row-level security applies to them.
# Migrations run as the superuser (POSTGRES_USER).
# To change the password of an existing volume later: ALTER ROLE campaign_worker PASSWORD '...';
set -euo pipefail

: "${CAMPAIGN_WORKER_DB_PASSWORD:?set CAMPAIGN_WORKER_DB_PASSWORD for the campaign_worker role}"

# The password travels as a psql variable and is quoted by format(%L): no shell or SQL injection.
psql -v ON_ERROR_STOP=1 -v worker_password="$CAMPAIGN_WORKER_DB_PASSWORD" \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
SELECT 'CREATE ROLE campaign_app NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_app') \gexec

SELECT format('CREATE ROLE campaign_worker LOGIN PASSWORD %L IN ROLE campaign_app', :'worker_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_worker') \gexec

SELECT format('ALTER ROLE campaign_worker LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'worker_password') \gexec
GRANT campaign_app TO campaign_worker;
SQL
