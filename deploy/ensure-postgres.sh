#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 for the tests (which create and drop
# their own databases as the `postgres` role). As root, install Debian's server when it is
# missing, let loopback connections in without a password (a developer or CI machine only), and
# start the cluster. Exit 1 with the reason when none can be had.
set -uo pipefail
url=${COINS_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
answers() { psql "$url" -Atqc 'select 1' >/dev/null 2>&1; }
answers && exit 0
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
  if pg_ctlcluster "$version" main status >/dev/null 2>&1; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  else
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
done
for _ in $(seq 50); do answers && exit 0; sleep 0.2; done
echo "PostgreSQL did not answer at $url: see /var/log/postgresql/" >&2
exit 1
