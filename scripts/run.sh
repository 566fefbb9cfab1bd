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

kafka_port="${KAFKA_PORT:-9092}"
# `name package port` per service, from the one registry (leadflow/services.py).
mapfile -t services < <("${PY[@]}" -m leadflow.services)
[ "${#services[@]}" -gt 0 ] || { echo "run.sh: no services listed by leadflow.services" >&2; exit 1; }
port_base="${LEADFLOW_RUN_PORT_BASE:-8000}"  # the registry's ports (8001 …) move with it
declare -A port_of
for s in "${services[@]}"; do
  read -r name _ port <<<"$s"
  port_of[$name]=$((port - 8000 + port_base))
done
intake=${port_of[marketing-intake]} assignment=${port_of[sales-assignment]}
started_kafka=""
stopping=""

# Ctrl-C (or TERM) at any moment stops what this script started, and only that: each service
# runs in a session of its own (the terminal's SIGINT reaches this script alone), is sent
# SIGTERM and waited for (SIGKILL past the deadline); then the broker, if it was started here.
cleanup() {
  trap - INT TERM EXIT
  [ -n "$stopping" ] && return
  stopping=1
  echo
  echo "stopping the services..."
  local groups=() pid
  for pid in $(jobs -p); do
    groups+=("$pid")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + ${LEADFLOW_RUN_STOP_SECONDS:-90}))
  for pid in "${groups[@]}"; do
    while kill -0 -- "-$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        echo "run.sh: service group $pid still running: killed" >&2
        kill -KILL -- "-$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
  done
  if [ -n "$started_kafka" ]; then deploy/kafka/kafka.sh stop; fi
  echo "stopped."
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

if [ "$LEADFLOW_KAFKA_BOOTSTRAP" = "localhost:$kafka_port" ] && ! deploy/kafka/kafka.sh status; then
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$kafka_port") 2>/dev/null; then
    started_kafka=1
    # A session of its own: the terminal's Ctrl-C must not stop the broker under the
    # services still draining; cleanup stops it last.
    setsid deploy/kafka/kafka.sh start
  fi
fi
# A broker just formatted answers TCP before it answers metadata requests: retry until then.
"${PY[@]}" -m leadflow.topics --bootstrap "$LEADFLOW_KAFKA_BOOTSTRAP" \
  --wait "${LEADFLOW_RUN_KAFKA_WAIT_SECONDS:-60}"

echo "starting the services..."
for s in "${services[@]}"; do
  read -r name pkg _ <<<"$s"
  port=${port_of[$name]}
  log="$LEADFLOW_DATA_DIR/logs/$name.log"
  # Each service's JSON log lines go to its log file and, prefixed, to this terminal. tee and
  # sed ignore TERM so the service's last lines while it drains still arrive.
  LEADFLOW_HTTP_PORT=$port setsid bash -c \
    '"$1" -u -m "$2" 2>&1 | (trap "" INT TERM; tee "$3" | sed -u "s/^/[$4] /")' \
    _ "${PY[0]}" "$pkg" "$log" "$name" &
done

for name in "${!port_of[@]}"; do
  port=${port_of[$name]}
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
done

echo
echo "  leadflow is running (dev mode, SQLite in $LEADFLOW_DATA_DIR, Kafka at $LEADFLOW_KAFKA_BOOTSTRAP)"
echo
for s in "${services[@]}"; do
  read -r name _ _ <<<"$s"
  url="http://127.0.0.1:${port_of[$name]}"
  extra=""
  [ "$name" = feedback ] && extra="   (dashboard: $url/)"
  printf '  %-18s %s/docs%s\n' "$name" "$url" "$extra"
done
cat <<MSG

  admin token        $LEADFLOW_ADMIN_TOKEN
  logs               $LEADFLOW_DATA_DIR/logs/<service>.log (and below, prefixed)

  Try it:
    export TOKEN=$LEADFLOW_ADMIN_TOKEN
    KEY=\$(curl -s -X POST localhost:$intake/v1/api-keys -H "Authorization: Bearer \$TOKEN" \\
          -H 'content-type: application/json' -d '{"name":"try"}' | python3 -c 'import sys,json;print(json.load(sys.stdin)["key"])')
    curl -s -X POST localhost:$assignment/v1/reps -H "Authorization: Bearer \$TOKEN" \\
          -H 'content-type: application/json' -d '{"name":"Rita Rep","email":"rita@example.com"}'
    curl -s -X POST localhost:$intake/v1/leads -H "Authorization: Bearer \$KEY" \\
          -H 'content-type: application/json' \\
          -d '{"email":"ada@example.com","first_name":"Ada","company":"Analytical Engines","job_title":"VP Engineering","company_size":250,"country":"GB","website":"analytical-engines.example"}'

  Ctrl-C stops everything.
MSG
# Returns when a signal arrives (its trap then runs) or every service has exited.
wait
