#!/usr/bin/env bash
# `make bench`: every benchmark in one run; figures printed, JSON in bench-results/.
# Targets are checked by the benchmarks themselves (printed, and a non-zero exit), never
# by timed tests. The broker and PostgreSQL are started here when missing.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
UV="${UV:-uv}"
out=bench-results
mkdir -p "$out"
if [ -z "${LEADFLOW_TEST_POSTGRES_URL:-}" ]; then
  LEADFLOW_TEST_POSTGRES_URL="$(scripts/postgres.sh start | tail -1)"
  export LEADFLOW_TEST_POSTGRES_URL
fi
deploy/kafka/kafka.sh status >/dev/null 2>&1 || (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null \
  || deploy/kafka/kafka.sh start

if ! command -v wrk >/dev/null 2>&1; then  # the intake benchmark's load generator (Debian)
  sudo=()  # not root: through sudo, as scripts/postgres.sh
  if [ "$(id -u)" != 0 ]; then sudo=(sudo DEBIAN_FRONTEND=noninteractive); fi
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
fi

# Topics of the benchmarks' own (`bench.leads.captured` …, LEADFLOW_KAFKA_TOPIC_PREFIX): the
# contract's topics, which `make run` reads, get none of their leads. Deleted before (what an
# interrupted run left) and after.
export LEADFLOW_KAFKA_TOPIC_PREFIX="${LEADFLOW_KAFKA_TOPIC_PREFIX-bench.}"
drop_topics() { $UV run --frozen python -m bench._kafka_bench drop-topics || true; }
drop_topics
trap drop_topics EXIT

# The machine-speed reference first (routing µs of CPU per decision, a raw aiokafka hop's µs
# of CPU): every figure below is compared with other days' through it, and each result's
# JSON carries it (`machine_speed`). docs/benchmarks.md quotes it with each figure.
echo "=== machine speed ==="
speed="$out/machine-speed.json"
$UV run --frozen python bench/machine_speed.py --json "$speed" || rm -f "$speed"

declare -A status
run() {
  local name="$1"; shift
  echo
  echo "=== $name ==="
  if $UV run --frozen python "$@" --json "$out/$name.json"; then
    status[$name]="targets met"
  else
    status[$name]="TARGETS NOT MET (exit $?)"
  fi
  [ -f "$speed" ] && $UV run --frozen python bench/machine_speed.py --stamp "$speed" "$out/$name.json"
}

run routing bench/routing_fairness.py
run routing-replay bench/routing_replay_bench.py
run account-matching bench/account_matching.py
run scoring-quality bench/scoring_quality.py
run scoring-throughput bench/scoring_throughput.py
run assignment-throughput bench/assignment_throughput.py
run feedback-throughput bench/feedback_throughput.py
[ -f bench/intake_bench.py ] && run intake bench/intake_bench.py
run end-to-end bench/e2e_bench.py

echo
echo "=== summary (JSON in $out/) ==="
for name in "${!status[@]}"; do printf '  %-20s %s\n' "$name" "${status[$name]}"; done
if [ -f "$speed" ]; then $UV run --frozen python bench/machine_speed.py --show "$speed"; fi
