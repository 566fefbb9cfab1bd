#!/usr/bin/env bash
# Install (Debian's packages: PostgreSQL, PgBouncer) and start a throwaway PostgreSQL for the
# test suite (PgBouncer is started by the tests that use it).
#   scripts/postgres.sh start   → prints the SQLAlchemy URL on the last line
#   scripts/postgres.sh stop
# The cluster lives in var/postgres (git-ignored), listens on 127.0.0.1:$PGPORT only,
# trusts local connections, and runs as the `postgres` OS user (root cannot run initdb).
set -euo pipefail
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGPORT:-55432}"
dir="${LEADFLOW_PG_DIR:-$top/var/postgres}"

# The server runs as the postgres user, which may not reach into this checkout (a clone in a
# private temporary folder): then the cluster lives in a folder of its own, one per checkout.
# Decided after the install, which is what creates the postgres user on a fresh machine.
place() {
  if [ -z "${LEADFLOW_PG_DIR:-}" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 \
     && ! runuser -u postgres -- test -x "$top" 2>/dev/null; then
    dir="/var/tmp/leadflow-postgres-$(printf '%s' "$top" | md5sum | cut -c1-12)"
  fi
}

bin_dir() {
  local d
  d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install() {
  # PgBouncer too: tests/common/test_pooler_db.py runs the services' pooler mode through it.
  local wanted=()
  [ -n "$(bin_dir)" ] || wanted+=(postgresql)
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || wanted+=(pgbouncer)
  if [ "${#wanted[@]}" = 0 ]; then return 0; fi
  echo "postgres.sh: installing ${wanted[*]} from Debian's packages..." >&2
  # Not root: through sudo (it asks for a password where it must).
  local sudo=()
  if [ "$(id -u)" != 0 ]; then sudo=(sudo DEBIAN_FRONTEND=noninteractive); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq >&2
  "${sudo[@]}" apt-get install -y -qq "${wanted[@]}" >&2
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install
  place
  local bin; bin="$(bin_dir)"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >&2
  fi
  "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1" postgres >/dev/null
  echo "postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
}

stop() {
  place
  local bin; bin="$(bin_dir)" || exit 0
  [ -f "$dir/data/PG_VERSION" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: postgres.sh start|stop" >&2; exit 2 ;;
esac
