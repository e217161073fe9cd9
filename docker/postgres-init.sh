#!/usr/bin/env bash
# Runs once, when the postgres container initialises an empty data directory
# (mounted into /docker-entrypoint-initdb.d). It creates the roles the app uses:
#   campaign_app     NOLOGIN; migration 0004 grants it the table rights (and creates it if missing)
#   campaign_worker  LOGIN, member of campaign_app: workers log in as it. Not a superuser, so row-level
#                    security applies to it. Password from the file CAMPAIGN_WORKER_DB_PASSWORD_FILE names.
#   campaign_reader  LOGIN, SELECT only (granted on the tables the migrations create, as they are created) and
#                    bound by the same row-level security: the TypeScript reader. Password from
#                    CAMPAIGN_READER_DB_PASSWORD_FILE.
# Migrations run as the superuser (POSTGRES_USER).
# To change a password of an existing volume later: ALTER ROLE campaign_worker PASSWORD '...';
set -euo pipefail

read_secret() {  # the value of VAR, or of the file VAR_FILE names (Docker secrets)
  local var=$1 file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then cat "${!file_var}"; else printf '%s' "${!var:?set $var or $file_var}"; fi
}
worker_password=$(read_secret CAMPAIGN_WORKER_DB_PASSWORD)
reader_password=$(read_secret CAMPAIGN_READER_DB_PASSWORD)

# Passwords travel as psql variables and are quoted by format(%L): no shell or SQL injection.
psql -v ON_ERROR_STOP=1 -v worker_password="$worker_password" -v reader_password="$reader_password" \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" <<'SQL'
SELECT 'CREATE ROLE campaign_app NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_app') \gexec

SELECT format('CREATE ROLE campaign_worker LOGIN PASSWORD %L IN ROLE campaign_app', :'worker_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_worker') \gexec

SELECT format('ALTER ROLE campaign_worker LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'worker_password') \gexec
GRANT campaign_app TO campaign_worker;

SELECT format('CREATE ROLE campaign_reader LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L', :'reader_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_reader') \gexec
-- The schema and tables do not exist yet: the migrations, run as the superuser, create them. Default
-- privileges give the reader USAGE and SELECT on what they create, and nothing more.
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER GRANT USAGE ON SCHEMAS TO campaign_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER GRANT SELECT ON TABLES TO campaign_reader;
SQL
