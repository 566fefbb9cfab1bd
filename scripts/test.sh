#!/usr/bin/env bash
# Run every test once, in two phases: the suite on LEADFLOW_TEST_WORKERS pytest-xdist workers
# (3: the tests mostly wait on the broker, the database and service processes, so more
# workers than this machine's two cores pay), then alone tests/chaos, run.sh's test and the
# erasure-log proof (SERIAL in tests/conftest.py).
# Arguments go to both phases ("-k intake -x", a path, "-n 1"); a phase they select nothing
# from passes. The broker is started here once for both phases (stopped at the end if it was
# not running before), PostgreSQL too unless LEADFLOW_TEST_POSTGRES_URL already names a server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
WORKERS="${LEADFLOW_TEST_WORKERS:-3}"
if [ -z "${LEADFLOW_TEST_POSTGRES_URL:-}" ]; then
  LEADFLOW_TEST_POSTGRES_URL="$(scripts/postgres.sh start | tail -1)"
  export LEADFLOW_TEST_POSTGRES_URL
fi
echo "PostgreSQL for tests: ${LEADFLOW_TEST_POSTGRES_URL}"
if [ -z "${LEADFLOW_KAFKA_BOOTSTRAP:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; then
  deploy/kafka/kafka.sh start
  trap 'deploy/kafka/kafka.sh stop || true' EXIT
fi

phase() {  # phase NAME PYTEST_ARGS...: 0 when it passed or selected no test (pytest's 5)
  local name="$1" rc=0
  shift
  echo "== tests, ${name} phase"
  LEADFLOW_TEST_PHASE="$name" $UV run --frozen pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then rc=0; fi
  return "$rc"
}

status=0
phase parallel -n "$WORKERS" --dist loadscope --no-loadscope-reorder "$@" || status=$?
phase serial "$@" || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
