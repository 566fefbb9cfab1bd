"""Feedback throughput: the journey consumer folding four events per lead into its read model.

feedback runs as a real process with its own consumer group placed at the end of every
topic. N leads' events — `leads.captured`, `leads.scored`, `leads.qualified` and
`leads.assigned`, built with the kernel's event models and serialisation — are produced as a
backlog first, then the process starts and folds them into `journey` and `lead_facts`. The
rate counts leads whose four events are in the journey, between the first journey row seen
and the last (the table is polled every 0.1 s), so start-up and group joins are not counted.

    uv run python bench/feedback_throughput.py [--leads 3000] [--db postgres,sqlite]
        [--py-spy out.txt] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._kafka_bench import (  # noqa: E402
    BOOTSTRAP,
    ServiceProcess,
    end_offsets,
    ensure_kafka,
    fresh_pg,
    place_group,
    produce,
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
PY_SPY = os.environ.get("PY_SPY", str(Path.home() / ".local/bin/py-spy"))
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


async def watch_journey(url: str, total: int, *, timeout: float) -> tuple[float, float, int]:
    """Poll the journey until `total` rows; (first seen, last reached, rows) in monotonic s."""
    engine = create_async_engine(url)
    first = last = 0.0
    rows = 0
    deadline = time.monotonic() + timeout
    try:
        while rows < total and time.monotonic() < deadline:
            try:
                async with engine.connect() as conn:
                    rows = int(await conn.scalar(text("SELECT count(*) FROM journey")) or 0)
            except Exception:  # not migrated yet
                rows = 0
            now = time.monotonic()
            if rows and not first:
                first = now
            last = now
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return first, last, rows


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [PY_SPY, "record", "-f", "raw", "--gil", "-r", "200", "-p", str(pid), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_once(
    name: str, database_url: str | None, n: int, py_spy: Path | None
) -> dict[str, Any]:
    group = f"bench-feedback-{uuid.uuid4().hex[:8]}"
    start: dict[TopicPartition, int] = {}
    for topic in sorted(set(TOPICS)):
        start |= await end_offsets(topic)
    await place_group(group, start)
    envs = backlog(n)
    t0 = time.monotonic()
    await produce(envs)
    print(f"  backlog: {len(envs)} events ({n} leads) in {time.monotonic() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/feedback.db"
        env = {"LEADFLOW_CONSUMER_GROUP": group, "LEADFLOW_DATABASE_URL": url}
        proc = ServiceProcess("feedback", Path(tmp), env)
        spy = None
        try:
            if py_spy is not None:
                spy = start_py_spy(proc.proc.pid, py_spy.with_suffix(f".{name}.txt"))
            first, last, rows = await watch_journey(url, len(envs), timeout=600)
            rss = proc.rss_mb()
        finally:
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
                spy.wait(timeout=60)
            proc.stop()
    if rows < len(envs):
        raise RuntimeError(f"only {rows} of {len(envs)} events reached the journey")
    span = last - first
    return {"leads_rate": n / span, "events_rate": len(envs) / span, "peak_rss_mb": rss}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--db", default="postgres,sqlite", help="comma-separated: postgres,sqlite")
    parser.add_argument("--py-spy", type=Path, help="profile the run (raw, with --gil)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_kafka()
    await ensure_topics(BOOTSTRAP)
    results: dict[str, Any] = {"leads": args.leads, "databases": {}}
    print(f"{'database':<12}{'leads/s':>10}{'events/s':>10}{'peak RSS MB':>13}")
    for name in args.db.split(","):
        url = None
        if name == "postgres":
            admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
            if not admin:
                print("postgres: LEADFLOW_TEST_POSTGRES_URL not set, skipped")
                continue
            url = await fresh_pg(admin)
        r = await run_once(name, url, args.leads, args.py_spy)
        results["databases"][name] = r
        print(
            f"{name:<12}{r['leads_rate']:>10.0f}{r['events_rate']:>10.0f}{r['peak_rss_mb']:>13.0f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
