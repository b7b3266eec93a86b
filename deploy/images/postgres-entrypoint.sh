#!/bin/sh
# A stand-in for the official postgres image's entrypoint (trust auth, for tests only):
# initialise the cluster on first start (POSTGRES_USER its superuser, POSTGRES_DB created as the
# official image does, then its init scripts), then run the command, e.g. `postgres -p 15432`.
set -eu
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  /usr/lib/postgresql/15/bin/initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  echo "listen_addresses = '127.0.0.1'" >> "$PGDATA/postgresql.conf"
  echo "unix_socket_directories = '/tmp'" >> "$PGDATA/postgresql.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | /usr/lib/postgresql/15/bin/postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  # Then the init scripts, as the official image runs them (deploy/postgres/service-role.sh).
  if ls /docker-entrypoint-initdb.d/*.sh >/dev/null 2>&1; then
    /usr/lib/postgresql/15/bin/pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses=''" start
    for script in /docker-entrypoint-initdb.d/*.sh; do PGHOST=/tmp POSTGRES_USER="${POSTGRES_USER:-postgres}" sh "$script"; done
    /usr/lib/postgresql/15/bin/pg_ctl -D "$PGDATA" -w -s -m fast stop
  fi
fi
if [ "${1:-}" = "postgres" ]; then shift; exec /usr/lib/postgresql/15/bin/postgres "$@"; fi
exec "$@"
