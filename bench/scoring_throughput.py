"""Scoring throughput: the lead-scoring consumer vs a raw aiokafka consume→produce loop.

Both read the same backlog of `leads.captured` events from the same broker in the same run.
The raw loop is the ceiling for this client on this machine: decode the JSON value, produce
one message with the same idempotent producer settings, commit offsets per batch once the
batch's sends are acknowledged. lead-scoring does real work per event — inbox row, score,
store, outbox rows (leads.scored, and leads.qualified when a lead first qualifies), relay
publish — in one database transaction per poll. Rates are taken between the first and last
output message's broker timestamps, so process start-up and group joins are not counted. The
output is read back once it is all there (for lead-scoring: once the topic's end offsets
have grown by the backlog), as for the raw loop, so reading it does not compete for the CPU
with the loop being measured. Each loop runs five times, interleaved, and the medians are
compared.

    uv run python bench/scoring_throughput.py [--leads 5000] [--repeat 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._kafka_bench import (
    BOOTSTRAP,
    PREFIX,
    ServiceProcess,
    bench_topic,
    collect,
    end_offsets,
    ensure_kafka,
    fresh_pg,
    place_group,
    produce,
    rate,
    relay_raw,
)
from bench._progress import bench_progress
from bench.synthetic import generate
from leadflow.events import Envelope, LeadCaptured, LeadErased, LeadOutcome
from leadflow.kafka import ensure_topics

RAW_TOPIC = bench_topic("bench.raw-scored")
TARGET_RATIO = 0.5


async def produce_backlog(n: int, progress: Progress) -> set[bytes]:
    task = progress.add_task("backlog: leads.captured sent", total=n)
    envs = []
    for sample in generate(n, seed=42):
        lead = sample.lead.model_copy(update={"lead_id": uuid.uuid4()})
        envs.append(Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/bench"))
    try:
        await produce(envs, lambda: progress.advance(task))
    finally:
        progress.remove_task(task)
    return {env.key for env in envs}


async def raw_loop(
    group: str, start: dict[Any, int], keys: set[bytes], progress: Progress
) -> tuple[float, float]:
    """The raw aiokafka loop over the backlog: its rate and its CPU µs per message."""
    task = progress.add_task("raw aiokafka loop: events relayed", total=len(keys))
    out_start = await end_offsets(RAW_TOPIC)
    try:
        cpu = await relay_raw(
            group, start, keys, RAW_TOPIC, lambda done: progress.update(task, completed=done)
        )
    finally:
        progress.remove_task(task)
    return rate(await collect(out_start, keys, timeout=60)), cpu


async def grown_by(
    start: dict[TopicPartition, int], n: int, *, timeout: float, so_far: Callable[[int], None]
) -> None:
    """Wait until `n` messages were appended after `start`: end offsets only, no records read."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ends = await consumer.end_offsets(list(start))
            grown = sum(ends[tp] - off for tp, off in start.items())
            so_far(min(grown, n))
            if grown >= n:
                return
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def service_loop(
    group: str,
    database_url: str | None,
    keys: set[bytes],
    start: dict[Any, int],
    progress: Progress,
) -> tuple[float, float, float]:
    """Run lead-scoring as a process on the backlog: its rate of leads.scored, the CPU time
    it took per lead (µs, from ready until all were published) and its peak RSS."""
    # Its other topics start at their end: what earlier runs and tests left there (outcomes,
    # erasures, poison messages) is not the backlog being measured.
    placed = dict(start)
    for topic in (LeadOutcome.topic, LeadErased.topic):
        placed |= await end_offsets(topic)
    await place_group(group, placed)
    out_start = await end_offsets("leads.scored")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"LEADFLOW_CONSUMER_GROUP": group}  # commits wake the relay: its poll as deployed
        if database_url:
            env["LEADFLOW_DATABASE_URL"] = database_url
        proc = ServiceProcess("lead_scoring", Path(tmp), env)
        db = "postgres" if database_url else "sqlite"
        task = progress.add_task(f"lead-scoring/{db}: leads scored", total=len(keys))
        try:
            await proc.ready()
            cpu = proc.cpu_seconds()
            await grown_by(
                out_start,
                len(keys),
                timeout=300,
                so_far=lambda n: progress.update(task, completed=n),
            )
            cpu = proc.cpu_seconds() - cpu
            scored = await collect(out_start, keys, timeout=60)
            rss = proc.rss_mb()
        finally:
            proc.stop()
            progress.remove_task(task)
    if len(scored) < len(keys):
        raise RuntimeError(f"only {len(scored)} of {len(keys)} leads were scored")
    return rate(scored), cpu / len(keys) * 1e6, rss


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each loop (medians)")
    args = parser.parse_args()
    ensure_kafka()
    await ensure_topics(BOOTSTRAP, prefix=PREFIX)
    await ensure_topics(BOOTSTRAP, [RAW_TOPIC], with_dlq=False, prefix=PREFIX)
    start = await end_offsets("leads.captured")
    with bench_progress() as progress:
        overall = progress.add_task("scoring throughput", total=None)
        t0 = time.monotonic()
        keys = await produce_backlog(args.leads, progress)
        print(f"backlog: {len(keys)} leads.captured events in {time.monotonic() - t0:.1f} s")
        # Each loop runs `--repeat` times, interleaved, and medians are compared: on two
        # shared cores single runs of either swing widely, and with three runs one slow spell
        # could still move a median (docs/decisions.md, session 7).
        pg_admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
        names = ["sqlite", *(["postgres"] if pg_admin else [])]
        raws: list[tuple[float, float]] = []
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in names}
        progress.update(overall, total=2 + args.repeat * (1 + len(names)), completed=2)
        for _ in range(args.repeat):
            group = f"bench-raw-{uuid.uuid4().hex[:8]}"
            raws.append(await raw_loop(group, start, keys, progress))
            progress.advance(overall)
            for name in names:
                url = await fresh_pg(pg_admin) if name == "postgres" and pg_admin else None
                group = f"bench-scoring-{uuid.uuid4().hex[:8]}"
                runs[name].append(await service_loop(group, url, keys, start, progress))
                progress.advance(overall)
        raw = statistics.median(r for r, _ in raws)
        raw_cpu = statistics.median(c for _, c in raws)
        results: dict[str, Any] = {
            "leads": len(keys),
            "repeat": args.repeat,
            "raw_rate": raw,
            "raw_cpu_us": raw_cpu,
            "raw_runs": [{"rate": r, "cpu_us": c} for r, c in raws],
            "databases": {},
        }
        print(f"medians of {args.repeat} runs each (every run's rate in brackets)")
        print(f"{'loop':<22}{'leads/s':>10}{'ratio':>8}{'CPU µs/lead':>13}{'peak RSS MB':>13}")
        print(
            f"{'raw aiokafka':<22}{raw:>10.0f}{1.0:>8.2f}{raw_cpu:>13.0f}{'':>13}  "
            f"[{', '.join(f'{r:.0f}' for r, _ in raws)}]"
        )
        ok = True
        for name in names:
            svc = statistics.median(r for r, _, _ in runs[name])
            cpu = statistics.median(c for _, c, _ in runs[name])
            rss = max(m for _, _, m in runs[name])
            ratio = svc / raw
            ok &= ratio >= TARGET_RATIO
            results["databases"][name] = {
                "rate": svc,
                "ratio": ratio,
                "cpu_us": cpu,
                "peak_rss_mb": rss,
                "runs": [{"rate": r, "cpu_us": c, "peak_rss_mb": m} for r, c, m in runs[name]],
            }
            print(
                f"{'lead-scoring/' + name:<22}{svc:>10.0f}{ratio:>8.2f}{cpu:>13.0f}{rss:>13.0f}  "
                f"[{', '.join(f'{r:.0f}' for r, _, _ in runs[name])}]"
            )
    print(f"target: ratio >= {TARGET_RATIO} -> {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
