#!/usr/bin/env bash
# Run every test once: Kafka is started once by the test session (tests/conftest.py),
# PostgreSQL here unless LEADFLOW_TEST_POSTGRES_URL already names a server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
if [ -z "${LEADFLOW_TEST_POSTGRES_URL:-}" ]; then
  LEADFLOW_TEST_POSTGRES_URL="$(scripts/postgres.sh start | tail -1)"
  export LEADFLOW_TEST_POSTGRES_URL
fi
echo "PostgreSQL for tests: ${LEADFLOW_TEST_POSTGRES_URL}"
exec $UV run --frozen pytest "$@"
