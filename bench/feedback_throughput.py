"""Feedback throughput: the journey consumer folding four events per lead into its read model.

feedback runs as a real process with its own consumer group placed at the end of every
topic. N leads' events — `leads.captured`, `leads.scored`, `leads.qualified` and
`leads.assigned`, built with the kernel's event models and serialisation — are produced as a
backlog first, then the process starts and folds them into `journey` and `lead_facts`. The
rate counts events reaching the journey (four per lead) between the first journey row seen
and the last (the table is polled every 0.1 s), so start-up and group joins are not counted;
the CPU the process (and, on PostgreSQL, its server backends) used over that same span is
reported per lead, since on a shared machine CPU per lead is steadier than the rate.

With `--rate`, the process starts first and the same events arrive live, a few leads every
20 ms, as in the running pipeline: small polls spread over many partitions.

    uv run python bench/feedback_throughput.py [--leads 3000] [--db postgres,sqlite]
        [--rate 200] [--py-spy out.txt] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._kafka_bench import (  # noqa: E402
    BOOTSTRAP,
    PREFIX,
    ServiceProcess,
    bench_topic,
    cpu_seconds,
    end_offsets,
    ensure_kafka,
    fresh_pg,
    place_group,
    produce,
    start_py_spy,
    stop_py_spy,
)
from bench.synthetic import generate  # noqa: E402
from leadflow.events import (  # noqa: E402
    TOPICS,
    AssignmentReason,
    Envelope,
    Factor,
    LeadAssigned,
    LeadCaptured,
    LeadQualified,
    LeadScored,
    RepRef,
)
from leadflow.kafka import ensure_topics  # noqa: E402

EVENTS_PER_LEAD = 4
REPS = [
    RepRef(rep_id=uuid.uuid4(), name=f"Rep {i}", email=f"rep{i}@seller.example") for i in range(5)
]


def backlog(n: int) -> list[Envelope]:
    """Each lead's four events, in the order the pipeline publishes them."""
    now = datetime.now(UTC)
    envs = []
    for i, sample in enumerate(generate(n, seed=11)):
        lead = sample.lead.model_copy(update={"lead_id": uuid.uuid4()})
        scored = {
            "lead_id": lead.lead_id,
            "score": 80,
            "qualified": True,
            "threshold": 60,
            "factors": [Factor(name="company_size", points=20, reason="mid-market")],
            "model_version": "bench",
            "scored_at": now,
            "lead": lead,
        }
        rep = REPS[i % len(REPS)]
        assigned = LeadAssigned(
            lead_id=lead.lead_id,
            rep=rep,
            reason=AssignmentReason(rule="default", detail="weighted round robin"),
            assigned_at=now + timedelta(seconds=1),
            attempt=1,
        )
        for event in (
            LeadCaptured(lead_id=lead.lead_id, lead=lead),
            LeadScored(**scored),
            LeadQualified(**scored),
            assigned,
        ):
            envs.append(Envelope(data=event, source="/bench"))
    return envs


async def server_stats(conn: Any) -> tuple[list[int], int]:
    """PostgreSQL: the backends serving clients of this database (not this connection, not
    autovacuum), and how many transactions the database has committed."""
    if conn.dialect.name != "postgresql":
        return [], 0
    rows = await conn.execute(
        text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
    )
    commits = await conn.scalar(
        text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    )
    return [int(r[0]) for r in rows], int(commits or 0)


@dataclass
class Watch:
    """What `watch_journey` saw: the span, the rows, and the CPU used over the span."""

    first: float = 0.0
    last: float = 0.0
    rows: int = 0
    rows_at_first: int = 0
    service_cpu: float = 0.0
    server_cpu: float = 0.0
    commits: int = 0


async def watch_journey(url: str, total: int, pid: int, *, timeout: float) -> Watch:
    """Poll the journey until `total` rows; the span (monotonic s) and CPU from the first row."""
    engine = create_async_engine(url)
    w = Watch()
    service0 = 0.0
    commits0 = commits = 0
    backends: dict[int, tuple[float, float]] = {}  # pid: (at the first row, latest)
    deadline = time.monotonic() + timeout
    try:
        async with engine.connect() as conn:
            while w.rows < total and time.monotonic() < deadline:
                try:
                    w.rows = int(await conn.scalar(text("SELECT count(*) FROM journey")) or 0)
                    pids, commits = await server_stats(conn)
                    await conn.rollback()
                except Exception:  # not migrated yet
                    await conn.rollback()
                    w.rows, pids = 0, []
                now, service = time.monotonic(), cpu_seconds(pid)
                for p in pids:
                    used = cpu_seconds(p)
                    backends[p] = (backends.get(p, (used if w.first else 0.0, 0.0))[0], used)
                if w.rows and not w.first:
                    w.first, w.rows_at_first, service0, commits0 = now, w.rows, service, commits
                    backends = {p: (latest, latest) for p, (_, latest) in backends.items()}
                w.last, w.service_cpu, w.commits = now, service - service0, commits - commits0
                await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    w.server_cpu = sum(latest - start for start, latest in backends.values())
    return w


async def paced(envs: list[Envelope], leads_per_second: float) -> None:
    """Publish each lead's events in ticks of 20 ms, at `leads_per_second`, as a live feed."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        per_tick = EVENTS_PER_LEAD * leads_per_second * 0.02
        started = time.monotonic()
        sent = 0
        while sent < len(envs):
            due = min(len(envs), int(per_tick * ((time.monotonic() - started) / 0.02 + 1)))
            for env in envs[sent:due]:
                await producer.send(
                    bench_topic(env.topic), env.value(), key=env.key, headers=env.headers()
                )
            sent = due
            await asyncio.sleep(0.02)
        await producer.flush()
    finally:
        await producer.stop()


async def run_once(
    name: str, database_url: str | None, n: int, py_spy: Path | None, rate: float | None
) -> dict[str, Any]:
    group = f"bench-feedback-{uuid.uuid4().hex[:8]}"
    start: dict[TopicPartition, int] = {}
    for topic in sorted(set(TOPICS)):
        start |= await end_offsets(topic)
    await place_group(group, start)
    envs = backlog(n)
    if rate is None:
        t0 = time.monotonic()
        await produce(envs)
        print(f"  backlog: {len(envs)} events ({n} leads) in {time.monotonic() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/feedback.db"
        env = {"LEADFLOW_CONSUMER_GROUP": group, "LEADFLOW_DATABASE_URL": url}
        proc = ServiceProcess("feedback", Path(tmp), env)
        spy = None
        try:
            feed = None
            if rate is not None:
                await proc.ready()
                await asyncio.sleep(5)  # the consumer joins its group
                print(f"  live: {len(envs)} events ({n} leads) at {rate:.0f} leads/s")
                feed = asyncio.create_task(paced(envs, rate))
            if py_spy is not None:
                spy = start_py_spy(proc.proc.pid, py_spy.with_suffix(f".{name}.txt"))
            w = await watch_journey(url, len(envs), proc.proc.pid, timeout=600)
            if feed is not None:
                await feed
            rss = proc.rss_mb()
        finally:
            stop_py_spy(spy)
            proc.stop()
    if w.rows < len(envs):
        raise RuntimeError(f"only {w.rows} of {len(envs)} events reached the journey")
    span = w.last - w.first
    # What was already in the journey when the first row was seen is outside the span.
    counted = (w.rows - w.rows_at_first) / EVENTS_PER_LEAD
    return {
        "leads_rate": counted / span,
        "events_rate": (w.rows - w.rows_at_first) / span,
        "service_cpu_ms_per_lead": 1000 * w.service_cpu / counted,
        "server_cpu_ms_per_lead": 1000 * w.server_cpu / counted if w.server_cpu else None,
        "transactions_per_lead": w.commits / counted if w.commits else None,
        "peak_rss_mb": rss,
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--db", default="postgres,sqlite", help="comma-separated: postgres,sqlite")
    parser.add_argument("--py-spy", type=Path, help="profile the run (raw, with --gil)")
    parser.add_argument(
        "--rate", type=float, help="feed the leads live at this rate (leads/s), not as a backlog"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_kafka()
    await ensure_topics(BOOTSTRAP, prefix=PREFIX)
    results: dict[str, Any] = {"leads": args.leads, "rate": args.rate, "databases": {}}
    print(
        f"{'database':<12}{'leads/s':>10}{'events/s':>10}"
        f"{'CPU ms/lead':>13}{'db CPU ms/lead':>16}{'txn/lead':>10}{'peak RSS MB':>13}"
    )
    for name in args.db.split(","):
        url = None
        if name == "postgres":
            admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
            if not admin:
                print("postgres: LEADFLOW_TEST_POSTGRES_URL not set, skipped")
                continue
            url = await fresh_pg(admin)
        r = await run_once(name, url, args.leads, args.py_spy, args.rate)
        results["databases"][name] = r
        server, txns = r["server_cpu_ms_per_lead"], r["transactions_per_lead"]
        print(
            f"{name:<12}{r['leads_rate']:>10.0f}{r['events_rate']:>10.0f}"
            f"{r['service_cpu_ms_per_lead']:>13.2f}"
            f"{'-' if server is None else f'{server:.2f}':>16}"
            f"{'-' if txns is None else f'{txns:.2f}':>10}{r['peak_rss_mb']:>13.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
