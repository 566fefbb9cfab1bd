#!/usr/bin/env bash
# Run every test once, on LEADFLOW_TEST_WORKERS pytest-xdist workers (4: the tests often wait
# on the broker, the database and service processes, so more workers than this machine's two
# cores pay; docs/decisions.md has the figures), a module or a SHARED group of them at a time
# (tests/conftest.py). Arguments go to pytest ("-k intake -x", a path, "-n 1"); a selection
# of no test passes. The broker is started here (stopped at the end if it was not running
# before), PostgreSQL too unless LEADFLOW_TEST_POSTGRES_URL already names a server.
# pytest caches the assertion-rewritten bytecode of test modules and of its plugins (384
# modules of schemathesis, hypothesis, anyio…) unless PYTHONDONTWRITEBYTECODE is set, as on
# this project's machines: then every worker of every run rewrites them all again, 5 to 8 s
# of CPU apiece. So it is unset here.
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

unset PYTHONDONTWRITEBYTECODE
rc=0
$UV run --frozen pytest -n "$WORKERS" --dist loadscope --no-loadscope-reorder "$@" || rc=$?
if [ "$rc" -eq 5 ]; then rc=0; fi
exit "$rc"
