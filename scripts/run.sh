#!/usr/bin/env bash
# `make run`: local Kafka + the four services on SQLite (dev mode). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
PY=(.venv/bin/python)

export LEADFLOW_ENV=dev
export LEADFLOW_ADMIN_TOKEN="${LEADFLOW_ADMIN_TOKEN:-dev-$(python3 -c 'import secrets;print(secrets.token_hex(12))')}"
export LEADFLOW_DATA_DIR="${LEADFLOW_DATA_DIR:-var/run}"
export LEADFLOW_KAFKA_BOOTSTRAP="${LEADFLOW_KAFKA_BOOTSTRAP:-localhost:9092}"
mkdir -p "$LEADFLOW_DATA_DIR/logs"

started_kafka=""
if [ "$LEADFLOW_KAFKA_BOOTSTRAP" = "localhost:9092" ] && ! deploy/kafka/kafka.sh status; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; then
    deploy/kafka/kafka.sh start
    started_kafka=1
  fi
fi
"${PY[@]}" -m leadflow.topics --bootstrap "$LEADFLOW_KAFKA_BOOTSTRAP"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping the services..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$started_kafka" ]; then deploy/kafka/kafka.sh stop; fi
  echo "stopped."
}
trap cleanup INT TERM EXIT

services=(marketing-intake:marketing_intake:8001 lead-scoring:lead_scoring:8002
          sales-assignment:sales_assignment:8003 feedback:feedback:8004)
for s in "${services[@]}"; do
  IFS=: read -r name pkg port <<<"$s"
  log="$LEADFLOW_DATA_DIR/logs/$name.log"
  # Each service's JSON log lines go to its log file and, prefixed, to this terminal.
  ( LEADFLOW_HTTP_PORT=$port "${PY[@]}" -u -m "$pkg" 2>&1 | tee "$log" | sed -u "s/^/[$name] /" ) &
  pids+=($!)
done

for s in "${services[@]}"; do
  IFS=: read -r name pkg port <<<"$s"
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
done

cat <<MSG

  leadflow is running (dev mode, SQLite in $LEADFLOW_DATA_DIR, Kafka at $LEADFLOW_KAFKA_BOOTSTRAP)

  marketing-intake   http://127.0.0.1:8001/docs
  lead-scoring       http://127.0.0.1:8002/docs
  sales-assignment   http://127.0.0.1:8003/docs
  feedback           http://127.0.0.1:8004/docs   (dashboard: http://127.0.0.1:8004/)

  admin token        $LEADFLOW_ADMIN_TOKEN
  logs               $LEADFLOW_DATA_DIR/logs/<service>.log (and below, prefixed)

  Try it:
    export TOKEN=$LEADFLOW_ADMIN_TOKEN
    KEY=\$(curl -s -X POST localhost:8001/v1/api-keys -H "Authorization: Bearer \$TOKEN" \\
          -H 'content-type: application/json' -d '{"name":"try"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["key"])')
    curl -s -X POST localhost:8003/v1/reps -H "Authorization: Bearer \$TOKEN" \\
          -H 'content-type: application/json' -d '{"name":"Rita Rep","email":"rita@example.com"}'
    curl -s -X POST localhost:8001/v1/leads -H "Authorization: Bearer \$KEY" \\
          -H 'content-type: application/json' \\
          -d '{"email":"ada@example.com","first_name":"Ada","company":"Analytical Engines","job_title":"VP Engineering","company_size":250,"country":"GB","website":"analytical-engines.example"}'

  Ctrl-C stops everything.
MSG
wait
