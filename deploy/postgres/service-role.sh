#!/bin/sh
# Run once by the postgres image when it first makes a server's data directory (mounted into
# /docker-entrypoint-initdb.d): the service's own role, owning its own database and nothing else.
# No superuser, no CREATEDB/CREATEROLE; the superuser's password stays in the database container.
set -eu
psql -v ON_ERROR_STOP=1 -q --username "$POSTGRES_USER" --dbname postgres \
  --set role="$SERVICE_DB_USER" --set password="$SERVICE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
SQL
