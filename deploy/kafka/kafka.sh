#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) for development and tests.
#   kafka.sh fetch   resolve the broker jars from Maven Central into dist/libs (once)
#   kafka.sh start   format (first time), start on localhost:$KAFKA_PORT, wait until it answers
#   kafka.sh stop    stop it cleanly (SIGTERM, then wait)
#   kafka.sh status  exit 0 when running
# State lives in $LEADFLOW_KAFKA_HOME (default deploy/kafka/run), all git-ignored.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
home="${LEADFLOW_KAFKA_HOME:-$here/run}"
port="${KAFKA_PORT:-9092}"
cport="${KAFKA_CONTROLLER_PORT:-9093}"
libs="$here/dist/libs"
pidfile="$home/kafka.pid"

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { echo "kafka.sh: mvn (Maven) is required to fetch Kafka" >&2; exit 1; }
  command -v java >/dev/null || { echo "kafka.sh: java 17+ is required to run Kafka" >&2; exit 1; }
  echo "kafka.sh: fetching Apache Kafka jars from Maven Central..."
  rm -rf "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs"
  touch "$libs/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

start() {
  fetch
  if running; then echo "kafka.sh: already running (pid $(cat "$pidfile"))"; return 0; fi
  if answers; then echo "kafka.sh: something already listens on :$port; using it"; return 0; fi
  mkdir -p "$home/data" "$home/logs"
  sed -e "s#@PORT@#$port#g" -e "s#@CONTROLLER_PORT@#$cport#g" -e "s#@DATA_DIR@#$home/data#g" \
      "$here/server.properties.in" > "$home/server.properties"
  local jvm=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
             "-Dlog4j2.configurationFile=$here/log4j2.properties" "-Dkafka.logs.dir=$home/logs")
  if [ ! -f "$home/data/meta.properties" ]; then
    local cluster_id  # base64url may begin with '-': passed as --cluster-id=…, never as a word
    cluster_id="$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
    java "${jvm[@]}" -cp "$libs/*" kafka.tools.StorageTool format --standalone \
      "--cluster-id=$cluster_id" -c "$home/server.properties" >"$home/logs/format.log" 2>&1 \
      || { cat "$home/logs/format.log" >&2; exit 1; }
  fi
  nohup java "${jvm[@]}" -cp "$libs/*" kafka.Kafka "$home/server.properties" \
    >"$home/logs/stdout.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 120); do
    if answers; then echo "kafka.sh: Kafka is up on localhost:$port (pid $(cat "$pidfile"))"; return 0; fi
    running || { echo "kafka.sh: Kafka exited; see $home/logs" >&2; tail -20 "$home/logs/stdout.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "kafka.sh: Kafka did not answer within 60 s; see $home/logs" >&2; exit 1
}

stop() {
  running || { rm -f "$pidfile"; return 0; }
  local pid; pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "kafka.sh: stopped"; return 0; }; sleep 0.5; done
  echo "kafka.sh: Kafka did not stop in 30 s; killing" >&2
  kill -9 "$pid" 2>/dev/null || true; rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: kafka.sh fetch|start|stop|status" >&2; exit 2 ;;
esac
