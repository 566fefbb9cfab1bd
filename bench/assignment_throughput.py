"""Assignment throughput: sales-assignment routing a backlog of `leads.qualified` events.

sales-assignment runs as a real process with its own consumer group placed at the end of its
topics. A first start migrates its database and takes the team over the HTTP API (reps of
weights 1–5, a rule with a named pool, an account owner, a webhook endpoint on a local
receiver); the process is stopped, N valid `leads.qualified` CloudEvents are produced with
the kernel's event models and serialisation, and a second start routes the backlog. The rate
is taken between the first and last `leads.assigned` broker timestamps (process start-up and
group joins are not counted); the webhook rate likewise between arrivals at the receiver.

    uv run python bench/assignment_throughput.py [--leads 3000] [--db postgres,sqlite]
        [--no-webhooks] [--py-spy out.txt] [--json out.json]
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench._kafka_bench import (  # noqa: E402
    BOOTSTRAP,
    ServiceProcess,
    collect,
    end_offsets,
    ensure_kafka,
    fresh_pg,
    place_group,
    produce,
    rate,
)
from bench.synthetic import generate  # noqa: E402
from leadflow.events import Envelope, LeadAssigned, LeadErased, LeadOutcome, LeadQualified  # noqa: E402
from leadflow.kafka import ensure_topics  # noqa: E402
from support.receiver import Receiver  # noqa: E402

TOKEN = "dev-bench"
TOPICS = (LeadQualified.topic, LeadOutcome.topic, LeadErased.topic)
PY_SPY = os.environ.get("PY_SPY", str(Path.home() / ".local/bin/py-spy"))


def backlog(n: int) -> list[Envelope]:
    """n qualified leads as lead-scoring publishes them (synthetic, realistic attributes)."""
    now = datetime.now(UTC)
    envs = []
    for sample in generate(n, seed=7):
        lead = sample.lead.model_copy(update={"lead_id": uuid.uuid4()})
        event = LeadQualified(
            lead_id=lead.lead_id,
            score=80,
            qualified=True,
            threshold=60,
            factors=[],
            model_version="bench",
            scored_at=now,
            lead=lead,
        )
        envs.append(Envelope(data=event, source="/lead-scoring"))
    return envs


async def set_up_team(port: int, hook_url: str | None) -> None:
    """Five reps (weights 1–5), a DACH rule with a named pool, an owner, a webhook endpoint."""
    auth = {"authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/v1", headers=auth) as http:
        reps = []
        for weight in range(1, 6):
            r = await http.post(
                "/reps",
                json={"name": f"Rep {weight}", "email": f"rep{weight}@seller.example",
                      "weight": weight},
            )  # fmt: skip
            r.raise_for_status()
            reps.append(r.json()["rep_id"])
        rules = [{"name": "dach", "countries": ["DE", "AT", "CH"], "pool": reps[:2]}]
        (await http.put("/routing/rules", json={"rules": rules})).raise_for_status()
        (await http.put("/accounts/co1.example", json={"rep_id": reps[4]})).raise_for_status()
        if hook_url is not None:
            r = await http.post("/webhook-endpoints", json={"url": hook_url})
            r.raise_for_status()


async def _webhooks_arrived(receiver: Receiver, n: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.snapshot()) < n and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [PY_SPY, "record", "-f", "raw", "--gil", "-r", "200", "-p", str(pid), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def run_once(
    name: str, database_url: str | None, n: int, *, webhooks: bool, py_spy: Path | None
) -> dict[str, Any]:
    group = f"bench-assign-{uuid.uuid4().hex[:8]}"
    start: dict[TopicPartition, int] = {}
    for topic in TOPICS:
        start |= await end_offsets(topic)
    await place_group(group, start)
    receiver = Receiver().start() if webhooks else None
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "LEADFLOW_CONSUMER_GROUP": group,
            "LEADFLOW_RELAY_POLL_SECONDS": "0.05",
            "LEADFLOW_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/assign.db",
        }
        proc = ServiceProcess("sales_assignment", Path(tmp), env)
        try:
            await proc.ready()
            await set_up_team(proc.port, receiver.url if receiver else None)
        finally:
            proc.stop()
        envs = backlog(n)
        keys = {env.key for env in envs}
        out_start = await end_offsets(LeadAssigned.topic)
        t0 = time.monotonic()
        await produce(envs)
        print(f"  backlog: {n} leads.qualified in {time.monotonic() - t0:.1f} s")
        proc = ServiceProcess("sales_assignment", Path(tmp), env)
        spy = None
        try:
            await proc.ready()
            if py_spy is not None:
                spy = start_py_spy(proc.proc.pid, py_spy.with_suffix(f".{name}.txt"))
            assigned = await collect(out_start, keys, timeout=600)
            if receiver is not None:
                await _webhooks_arrived(receiver, n, timeout=120)
            rss = proc.rss_mb()
        finally:
            if spy is not None:
                spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
                spy.wait(timeout=60)
            proc.stop()
            if receiver is not None:
                receiver.stop()
    if len(assigned) < n:
        raise RuntimeError(f"only {len(assigned)} of {n} leads were assigned")
    result: dict[str, Any] = {"assigned_rate": rate(assigned), "peak_rss_mb": rss}
    if receiver is not None:
        stamps = sorted(r.at for r in receiver.snapshot())
        result["webhooks"] = len(stamps)
        span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0
        result["webhook_rate"] = (len(stamps) - 1) / span if span > 0 else float("nan")
    return result


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--db", default="postgres,sqlite", help="comma-separated: postgres,sqlite")
    parser.add_argument("--no-webhooks", action="store_true")
    parser.add_argument("--py-spy", type=Path, help="profile the measured run (raw, with --gil)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_kafka()
    await ensure_topics(BOOTSTRAP)
    results: dict[str, Any] = {"leads": args.leads, "databases": {}}
    print(f"{'database':<12}{'assigned/s':>12}{'webhooks/s':>12}{'peak RSS MB':>13}")
    for name in args.db.split(","):
        url = None
        if name == "postgres":
            admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
            if not admin:
                print("postgres: LEADFLOW_TEST_POSTGRES_URL not set, skipped")
                continue
            url = await fresh_pg(admin)
        r = await run_once(name, url, args.leads, webhooks=not args.no_webhooks, py_spy=args.py_spy)
        results["databases"][name] = r
        hooks = f"{r['webhook_rate']:>12.0f}" if "webhook_rate" in r else f"{'-':>12}"
        print(f"{name:<12}{r['assigned_rate']:>12.0f}{hooks}{r['peak_rss_mb']:>13.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
