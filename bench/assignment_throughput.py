"""Assignment throughput: sales-assignment routing a backlog of `leads.qualified` events.

sales-assignment runs as a real process with its own consumer group placed at the end of its
topics. A first start migrates its database and takes the team over the HTTP API (reps of
weights 1–5, a rule with a named pool, an account owner, a webhook endpoint on a local
receiver); the process is stopped, N valid `leads.qualified` CloudEvents are produced with
the kernel's event models and serialisation, and a second start routes the backlog. The rate
is taken between the first and last `leads.assigned` broker timestamps (process start-up and
group joins are not counted); the webhook rate likewise between arrivals at the receiver.

`--rate R` feeds the events at R per second to the running process instead (open loop) and
times each lead: its `leads.qualified` record → routed (`assigned_at`, inside the routing
transaction) → its `leads.assigned` record (sent by the relay) → webhook received.

    uv run python bench/assignment_throughput.py [--leads 3000] [--db postgres,sqlite]
        [--no-webhooks] [--rate R] [--py-spy out.txt] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench._kafka_bench import (  # noqa: E402
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
    start_py_spy,
    stop_py_spy,
)
from bench._receiver import ReceiverProcess  # noqa: E402
from bench.synthetic import generate, qualified  # noqa: E402
from leadflow.events import Envelope, LeadAssigned, LeadErased, LeadOutcome, LeadQualified  # noqa: E402
from leadflow.kafka import ensure_topics  # noqa: E402

TOKEN = "dev-bench"
TOPICS = (LeadQualified.topic, LeadOutcome.topic, LeadErased.topic)


def backlog(n: int) -> list[Envelope]:
    """n qualified leads as lead-scoring publishes them (synthetic, realistic attributes)."""
    now = datetime.now(UTC)
    envs = []
    for sample in generate(n, seed=7):
        lead = sample.lead.model_copy(update={"lead_id": uuid.uuid4()})
        envs.append(qualified(lead, 80, now))
    return envs


async def set_up_team(port: int, hook_url: str | None) -> str | None:
    """Five reps (weights 1–5), a DACH rule with a named pool, an owner, a webhook endpoint.

    Returns the endpoint's signing secret.
    """
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
        if hook_url is None:
            return None
        r = await http.post("/webhook-endpoints", json={"url": hook_url})
        r.raise_for_status()
        return str(r.json()["secret"])


async def _webhooks_arrived(receiver: ReceiverProcess, n: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.arrivals) < n and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.2)


async def feed(envs: list[Envelope], per_second: float) -> None:
    """Publish the events at a steady rate, each at its time (open loop), all acked."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        futures = []
        start = time.monotonic()
        for i, env in enumerate(envs):
            delay = start + i / per_second - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            futures.append(
                await producer.send(
                    bench_topic(env.topic), env.value(), key=env.key, headers=env.headers()
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def percentiles(spans: list[float]) -> dict[str, float]:
    ordered = sorted(spans)

    def pick(p: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    return {"p50": pick(50), "p99": pick(99)} if ordered else {}


def stage_latencies(
    qualified: list[Any], assigned: list[Any], receiver: ReceiverProcess | None
) -> dict[str, dict[str, float]]:
    """p50/p99 in ms of qualified → routed → assigned (→ received), per lead."""
    at: dict[str, dict[bytes, float]] = {
        "qualified": {m.key: m.timestamp / 1000 for m in qualified},
        "routed": {
            m.key: datetime.fromisoformat(json.loads(m.value)["assigned_at"]).timestamp()
            for m in assigned
        },
        "assigned": {m.key: m.timestamp / 1000 for m in assigned},
    }
    if receiver is not None:
        at["received"] = {k.encode(): t for k, t in receiver.arrivals.items()}
    order = list(at)
    whole = [k for k in at["qualified"] if all(k in at[stage] for stage in order)]
    out = {}
    for a, b in itertools.pairwise(order):
        out[f"{a}→{b}"] = percentiles([at[b][k] - at[a][k] for k in whole])
    first, last = order[0], order[-1]
    out[f"{first}→{last}"] = percentiles([at[last][k] - at[first][k] for k in whole])
    return out


async def prepare(data: Path, env: dict[str, str], receiver: ReceiverProcess | None) -> None:
    """A first start: migrations and the team; the receiver learns the endpoint's secret."""
    proc = ServiceProcess("sales_assignment", data, env)
    try:
        await proc.ready()
        secret = await set_up_team(proc.port, receiver.url if receiver else None)
        if receiver is not None and secret is not None:
            await receiver.set_secret(secret)
    finally:
        proc.stop()


async def run_once(
    name: str,
    database_url: str | None,
    n: int,
    *,
    webhooks: bool,
    py_spy: Path | None,
    per_second: float | None = None,
) -> dict[str, Any]:
    group = f"bench-assign-{uuid.uuid4().hex[:8]}"
    start: dict[TopicPartition, int] = {}
    for topic in TOPICS:
        start |= await end_offsets(topic)
    await place_group(group, start)
    receiver = await ReceiverProcess.start() if webhooks else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "LEADFLOW_CONSUMER_GROUP": group,
                "LEADFLOW_RELAY_POLL_SECONDS": "0.05",
                "LEADFLOW_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/assign.db",
            }
            await prepare(Path(tmp), env, receiver)
            envs = backlog(n)
            keys = {env.key for env in envs}
            out_start = await end_offsets(LeadAssigned.topic)
            in_start = await end_offsets(LeadQualified.topic)
            if per_second is None:
                await produce_backlog(envs)
            proc = ServiceProcess("sales_assignment", Path(tmp), env)
            spy = None
            try:
                await proc.ready()
                cpu_start = proc.cpu_seconds()
                if py_spy is not None:
                    spy = start_py_spy(proc.proc.pid, py_spy.with_suffix(f".{name}.txt"))
                if per_second is not None:
                    await asyncio.sleep(2)  # the consumer group settles
                    cpu_start = proc.cpu_seconds()
                    await feed(envs, per_second)
                assigned = await collect(out_start, keys, timeout=600)
                if receiver is not None:
                    await _webhooks_arrived(receiver, n, timeout=120)
                cpu = proc.cpu_seconds() - cpu_start
                rss = proc.rss_mb()
            finally:
                stop_py_spy(spy)
                proc.stop()
    finally:
        if receiver is not None:
            await receiver.stop()
    if len(assigned) < n:
        raise RuntimeError(f"only {len(assigned)} of {n} leads were assigned")
    result: dict[str, Any] = {
        "assigned_rate": rate(assigned),
        "peak_rss_mb": rss,
        # Everything the process did for the backlog (start-up after `ready` included).
        "cpu_ms_per_lead": 1000 * cpu / n,
    }
    if receiver is not None:
        result |= webhook_figures(receiver)
    if per_second is not None:
        qualified = await collect(in_start, keys, timeout=30)
        result["stages_ms"] = stage_latencies(qualified, assigned, receiver)
    return result


async def produce_backlog(envs: list[Envelope]) -> None:
    t0 = time.monotonic()
    await produce(envs)
    print(f"  backlog: {len(envs)} leads.qualified in {time.monotonic() - t0:.1f} s")


def webhook_figures(receiver: ReceiverProcess) -> dict[str, Any]:
    """How many webhooks arrived, how many failed their signature check, and their rate."""
    stamps = sorted(receiver.arrivals.values())
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0
    return {
        "webhooks": len(stamps),
        "bad_signatures": receiver.bad_signatures,
        "webhook_rate": (len(stamps) - 1) / span if span > 0 else float("nan"),
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--db", default="postgres,sqlite", help="comma-separated: postgres,sqlite")
    parser.add_argument("--no-webhooks", action="store_true")
    parser.add_argument("--rate", type=float, help="feed the leads at this rate (per second)")
    parser.add_argument("--py-spy", type=Path, help="profile the measured run (raw, with --gil)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_kafka()
    await ensure_topics(BOOTSTRAP, prefix=PREFIX)
    results: dict[str, Any] = {"leads": args.leads, "databases": {}}
    print(
        f"{'database':<12}{'assigned/s':>12}{'webhooks/s':>12}{'CPU ms/lead':>13}"
        f"{'peak RSS MB':>13}"
    )
    for name in args.db.split(","):
        url = None
        if name == "postgres":
            admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
            if not admin:
                print("postgres: LEADFLOW_TEST_POSTGRES_URL not set, skipped")
                continue
            url = await fresh_pg(admin)
        r = await run_once(
            name,
            url,
            args.leads,
            webhooks=not args.no_webhooks,
            py_spy=args.py_spy,
            per_second=args.rate,
        )
        results["databases"][name] = r
        hooks = f"{r['webhook_rate']:>12.0f}" if "webhook_rate" in r else f"{'-':>12}"
        print(
            f"{name:<12}{r['assigned_rate']:>12.0f}{hooks}{r['cpu_ms_per_lead']:>13.2f}"
            f"{r['peak_rss_mb']:>13.0f}"
        )
        if "stages_ms" in r:
            print(
                "  p50/p99 ms: "
                + ", ".join(f"{k} {v['p50']:.0f}/{v['p99']:.0f}" for k, v in r["stages_ms"].items())
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
