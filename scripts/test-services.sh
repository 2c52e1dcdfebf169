#!/usr/bin/env bash
# Starts the services the tests use on loopback and prints the PostgreSQL URL for them.
# Uses Debian's PostgreSQL cluster; a role `retentio` (password `retentio`, CREATEDB) is made
# once. Set RETENTIO_TEST_PG_URL to use another server instead.
set -euo pipefail
# Only the URL goes to stdout: the caller captures it. What the services print (e.g.
# pg_ctlcluster's "Removed stale pid file.") goes to stderr.

if [ -n "${RETENTIO_TEST_PG_URL:-}" ]; then
  echo "$RETENTIO_TEST_PG_URL"
  exit 0
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  if [ "$(id -u)" = 0 ]; then pg_createcluster "$version" main >&2; else sudo pg_createcluster "$version" main >&2; fi
fi
if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
  if [ "$(id -u)" = 0 ]; then pg_ctlcluster "$version" main start >&2; else sudo pg_ctlcluster "$version" main start >&2; fi
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  as_postgres psql -p "$port" -qAtc "select 1" >/dev/null 2>&1 && break
  sleep 1
done
exists=$(as_postgres psql -p "$port" -qAtc "select 1 from pg_roles where rolname='retentio'")
if [ "$exists" != 1 ]; then
  as_postgres psql -p "$port" -qc "create role retentio login password 'retentio' createdb" >/dev/null
fi
echo "postgresql+psycopg://retentio:retentio@127.0.0.1:$port/postgres"
