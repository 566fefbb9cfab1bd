"""End to end: lead POSTed to intake → signed webhook received, through Kafka and four services.

Everything runs on this machine: the broker, PostgreSQL (one database per service), the four
services as processes, a webhook receiver and the load generator (open loop: a POST is sent
at its scheduled time whether or not earlier ones were answered, so queueing shows up in the
latency instead of slowing the load). Latency is the receiver's arrival time minus the POST's
send time. "Sustained" means: every POST answered 202 at the offered rate, and every webhook
arrived within 5 s after the last POST. The late ones of a rate that is not sustained are
waited for (up to two minutes) and counted in its latencies; the next rate starts idle.

The receiver runs in a process of its own (`bench/_receiver.py`) and checks every signature.
Each lead's way is also timed per stage, from the broker timestamps of its `leads.captured`,
`leads.scored`, `leads.qualified` and `leads.assigned` records (taken when each service's
relay sends them) and the `assigned_at` of the last ("routed": when sales-assignment's
routing transaction ran, so qualified→routed→assigned splits consumer from relay). Each
process's CPU time is read from /proc before and after a rate: CPU per lead shows what a
stage costs whatever else shares the two cores.

    uv run python bench/e2e_bench.py [--rates 50,200,500] [--seconds 10] [--json out.json]

`--py-spy DIR` profiles every service (one raw py-spy file each); `BENCH_EXTRA_ENV` adds
settings for the services, e.g. `BENCH_EXTRA_ENV="LEADFLOW_CONSUMER_LINGER_MS=20"`, or for one
of them, e.g. `BENCH_EXTRA_ENV="lead-scoring:LEADFLOW_CONSUMER_LINGER_MS=20"`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import TopicPartition
from rich.progress import Progress, TaskID

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench._kafka_bench import (  # noqa: E402
    PREFIX,
    analyze,
    collect,
    cpu_seconds,
    end_offsets,
    ensure_kafka,
    fresh_pg,
    peak_rss_mb,
    start_py_spy,
    stop_py_spy,
)
from bench._progress import bench_progress  # noqa: E402
from bench._receiver import ReceiverProcess  # noqa: E402
from leadflow.events import LeadAssigned, LeadCaptured, LeadQualified, LeadScored  # noqa: E402
from leadflow.kafka import ensure_topics  # noqa: E402
from leadflow.services import NAMES as SERVICES  # noqa: E402
from support.stack import Stack  # noqa: E402

TARGET_P99_AT_200 = 0.250
TARGET_SUSTAINED = 500
TARGET_RSS_MB = 150
DRAIN_SECONDS = 120  # how long a rate's late webhooks are waited for
# Each stage of a lead's way ends when the record of this topic was sent (broker timestamp).
STAGE_TOPICS = {
    "captured": LeadCaptured.topic,
    "scored": LeadScored.topic,
    "qualified": LeadQualified.topic,
    "assigned": LeadAssigned.topic,
}


def _pids_matching(pattern: str) -> list[int]:
    """Processes whose command line matches `pattern` (pgrep -f), gone ones skipped."""
    argv = ["pgrep", "-f", pattern]
    found = subprocess.run(argv, check=False, capture_output=True, text=True).stdout  # noqa: S603
    return [int(p) for p in found.split() if Path(f"/proc/{p}/stat").exists()]


def good_lead(i: int, run: str) -> dict[str, Any]:
    """A lead the default rules qualify, so (almost) every POST ends in a webhook."""
    company = f"co{run}{i}"
    return {
        "email": f"buyer{i}@{company}.example.com",
        "first_name": "Alex",
        "last_name": "Buyer",
        "company": company.capitalize(),
        "job_title": ("CTO", "VP Sales", "Head of Marketing", "IT Director")[i % 4],
        "company_size": (60, 250, 1200, 4000)[i % 4],
        "industry": "software",
        "country": ("DE", "GB", "US", "FR", "NL")[i % 5],
        "website": f"https://{company}.example.com",
        "utm_source": ("linkedin", "google", "newsletter")[i % 3],
        "utm_campaign": ("q4-launch", "brand")[i % 2],
    }


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class ConnectionPool:
    """Keep-alive HTTP/1.1 connections to one server; a request takes a free one."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
        self.idle = asyncio.Queue()
        self.all: list[asyncio.StreamWriter] = []

    @classmethod
    async def open(cls, base_url: str, size: int) -> ConnectionPool:
        host, port = base_url.removeprefix("http://").split(":")
        pool = cls(host)
        for _ in range(size):
            reader, writer = await asyncio.open_connection(host, int(port))
            pool.all.append(writer)
            pool.idle.put_nowait((reader, writer))
        return pool

    async def post_json(self, path: str, payload: Any, authorization: str) -> tuple[int, bytes]:
        reader, writer = await self.idle.get()
        body = json.dumps(payload).encode()
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Authorization: {authorization}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length:\s*(\d+)", head)
        answer = await reader.readexactly(int(length.group(1)) if length else 0)
        self.idle.put_nowait((reader, writer))
        return int(head.split(b" ", 2)[1]), answer

    async def close(self) -> None:
        for writer in self.all:
            writer.close()


class Bench:
    def __init__(self, stack: Stack, receiver: ReceiverProcess, progress: Progress) -> None:
        self.stack = stack
        self.receiver = receiver
        self.progress = progress
        self.key = ""

    async def setup(self) -> None:
        admin = self.stack.admin()
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(
                f"{self.stack.url('sales-assignment')}/v1/webhook-endpoints",
                headers=admin,
                json={"url": self.receiver.url, "event_types": ["lead.assigned"]},
            )
            r.raise_for_status()
            await self.receiver.set_secret(r.json()["secret"])
            for n in range(5):
                r = await http.post(
                    f"{self.stack.url('sales-assignment')}/v1/reps",
                    headers=admin,
                    json={
                        "name": f"Rep {n}",
                        "email": f"rep{n}@sales.example.com",
                        "weight": n + 1,
                    },
                )
                r.raise_for_status()
            r = await http.post(
                f"{self.stack.url('marketing-intake')}/v1/api-keys",
                headers=admin,
                json={"name": "bench"},
            )
            r.raise_for_status()
            self.key = r.json()["key"]

    async def run_rate(self, rate: float, seconds: float) -> dict[str, Any]:
        """Offer `rate` leads/s for `seconds`; measure answers and webhook latencies."""
        run = uuid.uuid4().hex[:6]
        n = int(rate * seconds)
        step = self.progress.add_task(f"{rate:.0f} leads/s: POSTs answered", total=n)
        sent: dict[str, float] = {}
        statuses: list[int] = []
        offsets = {stage: await end_offsets(topic) for stage, topic in STAGE_TOPICS.items()}
        cpu_before = self.cpu()
        # A raw HTTP/1.1 client on a pool of keep-alive connections: httpx costs milliseconds
        # of CPU per request with hundreds in flight, which made the load generator (on the
        # same two cores) the bottleneck it was meant to measure.
        pool = await ConnectionPool.open(self.stack.url("marketing-intake"), size=128)
        auth = f"Bearer {self.key}"
        try:

            async def post(i: int) -> None:
                t = time.time()
                try:
                    status, body = await pool.post_json("/v1/leads", good_lead(i, run), auth)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    statuses.append(0)
                    return
                finally:
                    self.progress.advance(step)
                statuses.append(status)
                if status == 202:
                    sent[json.loads(body)["lead_id"]] = t

            start = time.monotonic()
            tasks = []
            for i in range(n):
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(post(i)))
            await asyncio.gather(*tasks)
            offered_for = time.monotonic() - start
        finally:
            await pool.close()
        self.progress.update(step, description=f"{rate:.0f} leads/s: webhooks", completed=0)
        latencies, delivered = await self.webhooks(sent, step)
        cpu_after = self.cpu()
        self.progress.remove_task(step)
        lat = list(latencies.values())
        stages = await self.stages(offsets, sent, self.receiver.arrivals)
        cpu_ms: dict[str, float] = {}
        for (name, pid), spent in cpu_after.items():  # processes gone meanwhile: not counted
            used = spent - cpu_before.get((name, pid), 0.0)
            cpu_ms[name] = cpu_ms.get(name, 0.0) + 1000 * used / n
        return {
            "rate": rate,
            "posted": n,
            "accepted": sum(1 for s in statuses if s == 202),
            "achieved_rate": n / offered_for,
            "delivered": delivered,  # within 5 s of the last POST
            "delivered_at_all": len(lat),
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "mean": statistics.fmean(lat) if lat else float("nan"),
            "sustained": delivered == n and n / offered_for >= 0.95 * rate,
            "stages_ms": stages,
            "cpu_ms_per_lead": cpu_ms,
            "bad_signatures": self.receiver.bad_signatures,
        }

    async def webhooks(self, sent: dict[str, float], step: TaskID) -> tuple[dict[str, float], int]:
        """Each lead's latency, and how many arrived within 5 s (sustained: all of them).

        The rest are waited for too (up to DRAIN_SECONDS), so a rate's latencies count its
        slow leads and the next rate starts from an idle pipeline, not behind a backlog.
        """
        latencies: dict[str, float] = {}
        arrivals = self.receiver.arrivals
        delivered = 0
        started = time.time()
        while len(latencies) < len(sent) and time.time() < started + DRAIN_SECONDS:
            for lead_id, t in sent.items():
                if lead_id not in latencies and lead_id in arrivals:
                    latencies[lead_id] = arrivals[lead_id] - t
            if time.time() < started + 5:
                delivered = len(latencies)
            self.progress.update(step, completed=len(latencies))
            await asyncio.sleep(0.1)
        return latencies, delivered

    def cpu(self) -> dict[tuple[str, int], float]:
        """CPU seconds used so far by each service, the receiver and this load generator."""
        pids = {name: self.stack.procs[name].popen.pid for name in SERVICES}  # type: ignore[union-attr]
        pids["receiver"] = self.receiver.proc.pid
        pids["load"] = os.getpid()
        used = {(name, pid): cpu_seconds(pid) for name, pid in pids.items()}
        # The broker and the database server share the two cores: their CPU per lead too
        # (every process of theirs on this machine, whichever bench started them).
        for name, pattern in (("kafka", "kafka.Kafka"), ("postgres", "^postgres")):
            used |= {(name, pid): cpu_seconds(pid) for pid in _pids_matching(pattern)}
        return used

    async def stages(
        self,
        offsets: dict[str, dict[TopicPartition, int]],
        sent: dict[str, float],
        arrivals: dict[str, float],
    ) -> dict[str, dict[str, float]]:
        """p50/p99 of each stage, in ms, over the leads that went all the way."""
        keys = {lead_id.encode() for lead_id in sent}
        at: dict[str, dict[str, float]] = {"posted": sent, "received": arrivals}
        for stage, start in offsets.items():
            records = await collect(start, keys, timeout=5)
            at[stage] = {r.key.decode(): r.timestamp / 1000 for r in records}
            if stage == "assigned":  # when the routing transaction ran, before the relay
                at["routed"] = {
                    r.key.decode(): datetime.fromisoformat(
                        json.loads(r.value)["assigned_at"]
                    ).timestamp()
                    for r in records
                }
        order = ["posted", "captured", "scored", "qualified", "routed", "assigned", "received"]
        whole = [k for k in sent if all(k in at[stage] for stage in order)]
        out = {}
        for a, b in itertools.pairwise(order):
            spans = [at[b][k] - at[a][k] for k in whole]
            out[f"{a}→{b}"] = {
                "p50": 1000 * percentile(spans, 50),
                "p99": 1000 * percentile(spans, 99),
            }
        return out

    async def measure(
        self, rates: list[float], ramp: list[float], seconds: float, overall: TaskID
    ) -> dict[str, Any]:
        """Warm up, then each fixed rate, then the ramp until a rate is not sustained."""
        progress = self.progress
        progress.update(overall, description="end to end: warm-up")
        # Warm-up: connections, caches, group joins, and tables of some size whose statistics
        # are gathered (as autovacuum does on a running system): a fresh database has none,
        # and the plans PostgreSQL caches without them scan whole tables as they grow.
        await self.run_rate(100, 3)
        for url in self.stack.database_urls.values():  # PostgreSQL (none on SQLite)
            await analyze(url)
        progress.update(overall, description="end to end: fixed rates", advance=1)
        rows = []
        for rate in rates:
            row = await self.run_rate(rate, seconds)
            progress.advance(overall)
            rows.append(row)
            print(
                f"{rate:>6.0f} leads/s: p50 {row['p50'] * 1000:7.1f} ms  "
                f"p95 {row['p95'] * 1000:7.1f} ms  p99 {row['p99'] * 1000:7.1f} ms  "
                f"accepted {row['accepted']}  delivered {row['delivered']}/{row['posted']} "
                f"within 5 s ({row['delivered_at_all']} in all)  "
                f"{'sustained' if row['sustained'] else 'NOT sustained'}",
                flush=True,
            )
            print(
                "        stages p50/p99 ms: "
                + ", ".join(
                    f"{k} {v['p50']:.0f}/{v['p99']:.0f}" for k, v in row["stages_ms"].items()
                ),
                flush=True,
            )
            print(
                "        CPU ms per lead: "
                + ", ".join(f"{k} {v:.2f}" for k, v in row["cpu_ms_per_lead"].items()),
                flush=True,
            )
        best = 0.0
        progress.update(overall, description="end to end: ramp to the max")
        for rate in ramp:
            row = await self.run_rate(rate, seconds)
            progress.advance(overall)
            print(
                f"ramp {rate:>6.0f} leads/s: {'sustained' if row['sustained'] else 'NOT sustained'}"
                f" (achieved {row['achieved_rate']:.0f}/s, delivered "
                f"{row['delivered']}/{row['posted']} within 5 s, p99 {row['p99'] * 1000:.0f} ms)",
                flush=True,
            )
            if not row["sustained"]:
                break
            best = rate
        return {
            "fixed_rates": rows,
            "max_sustained_rate": best,
            # Every rate of the ramp sustained: the real maximum is higher than measured.
            "max_is_ramp_top": bool(ramp) and best == ramp[-1],
            "peak_rss_mb": self.rss(),
        }

    def rss(self) -> dict[str, float]:
        procs = self.stack.procs
        return {name: peak_rss_mb(procs[name].popen.pid) for name in SERVICES}  # type: ignore[union-attr]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,200,500")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--ramp", default="300,500,700,900,1100,1300,1500", help="rates tried for the max"
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument(
        "--py-spy",
        type=Path,
        help="a folder: profile every service during the fixed rates (py-spy raw, with --gil)",
    )
    return parser.parse_args()


async def main() -> int:
    args = parse_args()
    ensure_kafka()
    bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP", "localhost:9092")
    await ensure_topics(bootstrap, prefix=PREFIX)
    admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
    if not args.sqlite and not admin:
        print("LEADFLOW_TEST_POSTGRES_URL is not set (make bench starts PostgreSQL)")
        return 2
    base = Path(tempfile.mkdtemp(prefix="leadflow-bench-"))
    extra = {
        "LEADFLOW_LOG_LEVEL": "WARNING",
        # Commits that stage events wake the relay; the poll is only the fallback.
        "LEADFLOW_RELAY_POLL_SECONDS": "0.5",
        "LEADFLOW_RATE_LIMIT_KEY_PER_SECOND": "0",  # one API key sends it all: no 429s
    }
    per_service: dict[str, dict[str, str]] = {}
    for item in os.environ.get("BENCH_EXTRA_ENV", "").split():
        target, _, value = item.partition("=")
        name, _, key = target.rpartition(":")  # `service:KEY=VALUE` sets one service's
        (per_service.setdefault(name, {}) if name else extra)[key] = value
    stack = Stack(base, bootstrap, extra_env=extra, service_env=per_service)
    if admin and not args.sqlite:
        stack.database_urls = {name: await fresh_pg(admin) for name in SERVICES}
    rates = [float(r) for r in args.rates.split(",")]
    ramp = [float(r) for r in args.ramp.split(",") if r.strip()]
    results: dict[str, Any] = {"database": "sqlite" if args.sqlite else "postgresql"}
    receiver = await ReceiverProcess.start()
    with bench_progress() as progress:
        overall = progress.add_task("starting the services", total=1 + len(rates) + len(ramp))
        try:
            await asyncio.to_thread(stack.start)
            bench = Bench(stack, receiver, progress)
            await bench.setup()
            spies = []
            if args.py_spy is not None:
                args.py_spy.mkdir(parents=True, exist_ok=True)
                for name in SERVICES:
                    pid = stack.procs[name].popen.pid  # type: ignore[union-attr]
                    spies.append(start_py_spy(pid, args.py_spy / f"{name}.txt"))
            try:
                results |= await bench.measure(rates, ramp, args.seconds, overall)
            finally:
                stop_py_spy(*spies)
        finally:
            progress.update(overall, description="stopping the services")
            try:
                await asyncio.to_thread(stack.stop)
            finally:
                await receiver.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return report(results)


def report(results: dict[str, Any]) -> int:
    """Print the figures the targets are about; 0 if all are met."""
    p99_200 = next((r["p99"] for r in results["fixed_rates"] if r["rate"] == 200), float("nan"))
    rss_ok = all(v <= TARGET_RSS_MB for v in results["peak_rss_mb"].values())
    print("peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in results["peak_rss_mb"].items()))
    print(
        f"targets: p99 at 200/s <= 250 ms: {p99_200 * 1000:.0f} ms; "
        f"sustained >= {TARGET_SUSTAINED}/s: {results['max_sustained_rate']:.0f}"
        f"{' (the top of the ramp: higher not tried)' if results['max_is_ramp_top'] else ''}; "
        f"RSS <= {TARGET_RSS_MB} MB: {'yes' if rss_ok else 'no'}"
    )
    ok = p99_200 <= TARGET_P99_AT_200 and results["max_sustained_rate"] >= TARGET_SUSTAINED
    return 0 if ok and rss_ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
