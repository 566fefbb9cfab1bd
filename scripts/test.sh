#!/usr/bin/env bash
# Run every test once, in two phases: alone, in a plain pytest process, the fuzz modules
# (SERIAL in tests/conftest.py: xdist would run one schemathesis operation per function),
# then the suite on LEADFLOW_TEST_WORKERS pytest-xdist workers (4: the tests often wait on
# the broker, the database and service processes, so more workers than this machine's two
# cores pay; docs/decisions.md has the figures).
# pytest caches the assertion-rewritten bytecode of test modules and of its plugins (384
# modules of schemathesis, hypothesis, anyio…) unless PYTHONDONTWRITEBYTECODE is set, as on
# this project's machines: then every worker of every run rewrites them all again, 5 to 8 s
# of CPU apiece. So it is unset here (the serial phase, first, leaves the plugins' cache to
# the workers).
# Arguments go to both phases ("-k intake -x", a path, "-n 1"); a phase they select nothing
# from passes. The broker is started here once for both phases (stopped at the end if it was
# not running before), PostgreSQL too unless LEADFLOW_TEST_POSTGRES_URL already names a server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
WORKERS="${LEADFLOW_TEST_WORKERS:-4}"
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

unset PYTHONDONTWRITEBYTECODE
status=0
phase serial "$@" || status=$?
phase parallel -n "$WORKERS" --dist loadscope --no-loadscope-reorder "$@" \
  || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
exit "$status"
