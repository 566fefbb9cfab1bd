"""The machine-speed reference: how fast this machine is right now, in two figures.

- routing: µs of CPU per decision of sales-assignment's `route` (routing_fairness's steady
  scenario: 10,000 leads over 5 reps), median of three runs;
- kafka hop: µs of CPU (this thread) per message of a raw aiokafka consume→produce loop
  over a backlog of small JSON events, on topics of its own, median of three runs.

`make bench` prints it first and adds it to every result's JSON (`machine_speed`): figures
taken on different days (or hours: this machine's speed varies by a factor of three) compare
only through it. docs/benchmarks.md and docs/decisions.md quote it with each figure.

    uv run python bench/machine_speed.py [--json out.json]
    uv run python bench/machine_speed.py --stamp ref.json result.json …   (add it to results)
    uv run python bench/machine_speed.py --show ref.json                   (print it again)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._kafka_bench import BOOTSTRAP, PREFIX, end_offsets, ensure_kafka, relay_raw
from bench.routing_fairness import simulate
from bench.synthetic import generate
from leadflow.events import Envelope, LeadCaptured
from leadflow.kafka import ensure_topics

RUNS = 3
MESSAGES = 3000
# Never the contract's topics, even when run without make bench's prefix.
TOPIC_IN = f"{PREFIX or 'bench.'}machine-speed.in"
TOPIC_OUT = f"{PREFIX or 'bench.'}machine-speed.out"


def routing_us() -> list[float]:
    """CPU µs per routing decision (wall time would grow with the load), one per run."""
    return [float(simulate(churn=False)["cpu_us_per_lead"]) for _ in range(RUNS)]


async def kafka_hop_us() -> list[float]:
    """CPU µs per message of the raw consume→produce loop, one figure per run."""
    await ensure_topics(BOOTSTRAP, [TOPIC_IN, TOPIC_OUT], with_dlq=False)
    try:
        start = await end_offsets(TOPIC_IN)
        keys = await _backlog()
        runs = []
        for _ in range(RUNS):
            group = f"bench-machine-speed-{uuid.uuid4().hex[:8]}"
            runs.append(await relay_raw(group, start, keys, TOPIC_OUT))
        return runs
    finally:
        await _drop()


async def _backlog() -> set[bytes]:
    """MESSAGES `leads.captured` events as the services send them, on TOPIC_IN."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        keys, sends = set(), []
        for sample in generate(MESSAGES, seed=42):
            lead = sample.lead.model_copy(update={"lead_id": uuid.uuid4()})
            env = Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/bench")
            keys.add(env.key)
            sends.append(
                await producer.send(TOPIC_IN, env.value(), key=env.key, headers=env.headers())
            )
        await asyncio.gather(*sends)
        return keys
    finally:
        await producer.stop()


async def _drop() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.delete_topics([TOPIC_IN, TOPIC_OUT])
        # Deletion completes in the background: the next run must not find them half-gone.
        for _ in range(60):
            if not {TOPIC_IN, TOPIC_OUT} & set(await admin.list_topics()):
                break
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def measure() -> dict[str, Any]:
    """Both figures (medians) and every run, with when and where they were taken."""
    routing = routing_us()
    hop = asyncio.run(kafka_hop_us())
    return {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "routing_us_per_decision": round(statistics.median(routing), 1),
        "kafka_hop_cpu_us": round(statistics.median(hop), 1),
        "routing_runs": [round(r, 1) for r in routing],
        "kafka_hop_runs": [round(r, 1) for r in hop],
        "host": {"node": platform.node(), "python": platform.python_version()},
    }


def line(ref: dict[str, Any]) -> str:
    """The reference as one line, as the docs quote it."""
    return (
        f"machine speed {ref['taken_at']}: routing {ref['routing_us_per_decision']} µs CPU per "
        f"decision, raw aiokafka hop {ref['kafka_hop_cpu_us']} µs CPU per message"
    )


def stamp(ref_path: Path, results: list[Path]) -> None:
    """Add the reference to each result's JSON (a JSON object) as `machine_speed`."""
    ref = json.loads(ref_path.read_text())
    for path in results:
        if not path.is_file():
            continue
        doc = json.loads(path.read_text())
        if isinstance(doc, dict):
            path.write_text(json.dumps({**doc, "machine_speed": ref}, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the reference to this file")
    parser.add_argument("--stamp", type=Path, help="a reference file to add to RESULTS")
    parser.add_argument("results", type=Path, nargs="*", help="result files (with --stamp)")
    parser.add_argument("--show", type=Path, help="print a stored reference as one line")
    args = parser.parse_args()
    if args.show is not None:
        print(line(json.loads(args.show.read_text())))
        return 0
    if args.stamp is not None:
        stamp(args.stamp, args.results)
        return 0
    ensure_kafka()
    ref = measure()
    print(line(ref))
    print(f"  runs: routing {ref['routing_runs']} µs, kafka hop {ref['kafka_hop_runs']} µs")
    if args.json:
        args.json.write_text(json.dumps(ref, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
