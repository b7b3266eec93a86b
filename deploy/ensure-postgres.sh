#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests (which create and drop
# their own databases as the `postgres` role). As root, install Debian's server when it is
# missing, let loopback connections in without a password (a developer or CI machine only), and
# start the cluster. Exit 1 with the reason when none can be had.
# The CDC tests (Debezium) need wal_level=logical and replication connections from loopback: set
# once here; changing wal_level needs a restart, made only when the setting differs, and only once
# no other client is connected (waits up to COINS_PG_RESTART_WAIT_S, 600 s), so that a test run of
# another worktree on the same cluster is not cut off.
set -uo pipefail
url=${COINS_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
answers() { psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }
logical() { [ "$(psql "$url" -Atqc 'show wal_level' 2>/dev/null)" = logical ]; }
others() {
  psql "$url" -Atqc "select count(*) from pg_stat_activity
                     where backend_type = 'client backend' and pid <> pg_backend_pid()" 2>/dev/null
}
answers && logical && exit 0
if answers && [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL answers but wal_level is not logical (the CDC tests need it); only root may change it" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "PostgreSQL does not answer at $url, and only root may install or start it here" >&2; exit 1
fi
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v psql >/dev/null; then
  echo "installing PostgreSQL from Debian's packages ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
    >/tmp/coins-postgres-install.log 2>&1 \
    || { echo "installing postgresql failed: see /tmp/coins-postgres-install.log" >&2; exit 1; }
fi
for conf in /etc/postgresql/*/main; do
  version=$(basename "$(dirname "$conf")")
  hba="$conf/pg_hba.conf"
  if ! grep -q '^# coins: loopback trust' "$hba"; then
    # First match wins in pg_hba.conf, so the trust lines go on top.
    printf '%s\n' '# coins: loopback trust (test machine)' \
      'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' | cat - "$hba" >"$hba.new"
    mv "$hba.new" "$hba" && chown postgres:postgres "$hba"
  fi
  if ! grep -q '^# coins: loopback replication' "$hba"; then
    # "all" in the database column does not match replication connections (Debezium's).
    printf '%s\n' '# coins: loopback replication (test machine)' \
      'host replication all 127.0.0.1/32 trust' 'host replication all ::1/128 trust' | cat - "$hba" >"$hba.new"
    mv "$hba.new" "$hba" && chown postgres:postgres "$hba"
  fi
  conf_file="$conf/conf.d/coins-logical.conf"
  if [ -d "$conf/conf.d" ] && [ ! -f "$conf_file" ]; then
    printf '%s\n' '# coins: logical decoding for the CDC path (Debezium)' 'wal_level = logical' >"$conf_file"
    chown postgres:postgres "$conf_file"
  fi
  if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    if ! logical; then
      waited=0
      while [ "$(others)" != 0 ] && [ "$waited" -lt "${COINS_PG_RESTART_WAIT_S:-600}" ]; do
        sleep 2; waited=$((waited + 2))
      done
      echo "restarting PostgreSQL $version for wal_level=logical" >&2
      pg_ctlcluster --skip-systemctl-redirect "$version" main restart
    fi
  else
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
done
for _ in $(seq 50); do answers && exit 0; sleep 0.2; done
echo "PostgreSQL did not answer at $url: see /var/log/postgresql/" >&2
exit 1
