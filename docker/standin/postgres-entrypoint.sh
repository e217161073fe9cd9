#!/usr/bin/env bash
# What the official postgres image's entrypoint does, for Debian's PostgreSQL in the test stand-in: on an empty
# data directory, initdb with the superuser password from POSTGRES_PASSWORD_FILE, create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sh once; then run the server, listening on the compose network.
set -euo pipefail
export PGDATA=${PGDATA:-/var/lib/postgresql/data}
mkdir -p "$PGDATA" /run/postgresql
chown -R postgres:postgres "$PGDATA" /run/postgresql
chmod 700 "$PGDATA"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD_FILE:?the stand-in reads the superuser password from a file}"
  pwfile=$(mktemp)
  cp "$POSTGRES_PASSWORD_FILE" "$pwfile"
  chown postgres "$pwfile"
  as_postgres initdb --username="${POSTGRES_USER:-postgres}" --pwfile="$pwfile" --auth-local=trust \
    --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  as_postgres psql -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" -d postgres \
    -c "CREATE DATABASE \"${POSTGRES_DB:-postgres}\"" >/dev/null
  for script in /docker-entrypoint-initdb.d/*.sh; do
    [ -e "$script" ] && POSTGRES_USER=${POSTGRES_USER:-postgres} bash "$script"
  done
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -c listen_addresses='*' "$@"
