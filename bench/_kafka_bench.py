"""Shared bench helpers: the broker, topic snapshots, service processes, rates."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from leadflow.events import Envelope
from leadflow.kafka import physical_topic

ROOT = Path(__file__).resolve().parents[1]
BOOTSTRAP = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP", "localhost:9092")
# Topics of the benchmarks' own (scripts/bench.sh sets `bench.`; every service started here
# inherits it): the contract's topics, which `make run` reads, get none of their leads.
PREFIX = os.environ.get("LEADFLOW_KAFKA_TOPIC_PREFIX", "")


def bench_topic(name: str) -> str:
    """A contract topic as the benchmarks' services read and write it."""
    return physical_topic(name, PREFIX)


async def drop_bench_topics() -> list[str]:
    """Delete every topic of the prefix (none without one); returns their names."""
    if not PREFIX:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(PREFIX)]
        if names:
            await admin.delete_topics(names)
        # Deletion completes in the background: a topic made again too soon would clash.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not any(t.startswith(PREFIX) for t in await admin.list_topics()):
                break
            await asyncio.sleep(0.5)
        return names
    finally:
        await admin.close()


def ensure_kafka() -> None:
    """Start the project's local broker unless something answers on the bootstrap already."""
    if "LEADFLOW_KAFKA_BOOTSTRAP" in os.environ:
        return
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 9092)) == 0:
            return
    subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), "start"], check=True)  # noqa: S603


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def end_offsets(topic: str) -> dict[TopicPartition, int]:
    topic = bench_topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        return dict(await consumer.end_offsets([TopicPartition(topic, p) for p in sorted(parts)]))
    finally:
        await consumer.stop()


async def collect(
    start: dict[TopicPartition, int],
    keys: set[bytes],
    *,
    timeout: float,
    seen_so_far: Callable[[int], None] | None = None,
) -> list[Any]:
    """Messages after `start` whose key is in `keys`, one per key (the first), until all came.

    `seen_so_far` is told how many keys have come after each fetch (a progress bar).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    seen: dict[bytes, Any] = {}
    try:
        consumer.assign(list(start))
        for tp, off in start.items():
            consumer.seek(tp, off)
        deadline = time.monotonic() + timeout
        while len(seen) < len(keys) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for msgs in batch.values():
                for m in msgs:
                    if m.key in keys and m.key not in seen:
                        seen[m.key] = m
            if seen_so_far is not None:
                seen_so_far(len(seen))
        return list(seen.values())
    finally:
        await consumer.stop()


async def produce(envs: list[Envelope], on_sent: Callable[[], None] | None = None) -> None:
    """Publish events as the services do (binary CloudEvents, keyed by lead), all acked."""
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for env in envs:
            futures.append(
                await producer.send(
                    bench_topic(env.topic), env.value(), key=env.key, headers=env.headers()
                )
            )
            if on_sent is not None:
                on_sent()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def relay_raw(
    group: str,
    start: dict[TopicPartition, int],
    keys: set[bytes],
    out_topic: str,
    advance: Callable[[int], None] | None = None,
) -> float:
    """The raw aiokafka consume→produce loop: the client's own ceiling on this machine.

    Reads from `start` and, for each message whose key is in `keys`, decodes its JSON value
    and produces it again to `out_topic` (idempotent producer), committing offsets per batch
    once its sends are acknowledged. Returns the CPU time per message in µs (this thread).
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False
    )
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, enable_idempotence=True, linger_ms=2)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign(list(start))
        for tp, off in start.items():
            consumer.seek(tp, off)
        cpu = time.thread_time()
        done = 0
        while done < len(keys):
            batch = await consumer.getmany(timeout_ms=500, max_records=200)
            futures = []
            for msgs in batch.values():
                for m in msgs:
                    if m.key in keys:
                        data = json.loads(m.value)
                        futures.append(
                            await producer.send(
                                out_topic,
                                json.dumps(data).encode(),
                                key=m.key,
                                headers=list(m.headers),
                            )
                        )
                        done += 1
            await asyncio.gather(*futures)
            if advance is not None:
                advance(done)
            if batch:
                await consumer.commit({tp: msgs[-1].offset + 1 for tp, msgs in batch.items()})
        return (time.thread_time() - cpu) / len(keys) * 1e6
    finally:
        await producer.stop()
        await consumer.stop()


async def place_group(group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commit `offsets` for `group`, so it starts exactly there."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def fresh_pg(admin_url: str) -> str:
    """A new empty database on the PostgreSQL server at `admin_url`, dropped again when the
    benchmark's process exits (runs used to leave gigabytes of them behind)."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    if not _created:
        atexit.register(_drop_created, admin_url)
    _created.append(name)
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


_created: list[str] = []


def _drop_created(admin_url: str) -> None:
    """At exit (the services are stopped by then): drop the databases `fresh_pg` made."""

    async def drop() -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                for name in _created:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            await engine.dispose()

    try:
        asyncio.run(drop())
    except Exception as exc:  # the server gone meanwhile: say so, the results stand
        print(f"could not drop the benchmark databases {_created}: {exc}", file=sys.stderr)


async def analyze(url: str) -> None:
    """Statistics for every table of a database, as autovacuum gathers them on a running
    system (a fresh database has none, and plans made without them scan whole tables)."""
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def rate(messages: list[Any]) -> float:
    """Messages per second between the first and the last broker timestamp."""
    stamps = sorted(m.timestamp for m in messages)
    span = (stamps[-1] - stamps[0]) / 1000
    return (len(stamps) - 1) / span if span > 0 else float("inf")


class ServiceProcess:
    """One service as a real process with its own data folder and settings."""

    def __init__(self, module: str, data: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        data.mkdir(parents=True, exist_ok=True)
        self.log = (data / "service.log").open("wb")
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", module],
            cwd=data,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={
                **os.environ,
                "LEADFLOW_ADMIN_TOKEN": "dev-bench",
                "LEADFLOW_KAFKA_BOOTSTRAP": BOOTSTRAP,
                "LEADFLOW_HTTP_PORT": str(self.port),
                "LEADFLOW_DATA_DIR": str(data),
                "LEADFLOW_LOG_LEVEL": "WARNING",
                **env,
            },
        )

    async def ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"service exited with {self.proc.returncode}")
                try:
                    r = await http.get(f"http://127.0.0.1:{self.port}/readyz")
                    if r.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError("service not ready")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def rss_mb(self) -> float:
        return peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process `pid`, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


PY_SPY = os.environ.get("PY_SPY", str(Path.home() / ".local/bin/py-spy"))
PY_SPY_RATE = os.environ.get("PY_SPY_RATE", "200")  # samples per second
PY_SPY_RECORD = (PY_SPY, "record", "-f", "raw", "--gil", "--nonblocking")


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    """py-spy recording `pid` (raw, GIL holders only, not pausing it) until sent SIGINT."""
    return subprocess.Popen(  # noqa: S603
        [*PY_SPY_RECORD, "-r", PY_SPY_RATE, "-p", str(pid), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_py_spy(*spies: subprocess.Popen[bytes] | None) -> None:
    """Stop py-spy recordings (SIGINT: each writes what it sampled) and wait for them."""
    running = [spy for spy in spies if spy is not None]
    for spy in running:
        spy.send_signal(signal.SIGINT)
    for spy in running:
        spy.wait(timeout=60)


if __name__ == "__main__":  # scripts/bench.sh: `python -m bench._kafka_bench drop-topics`
    if sys.argv[1:] != ["drop-topics"]:
        sys.exit("usage: python -m bench._kafka_bench drop-topics")
    dropped = asyncio.run(drop_bench_topics())
    print(f"bench topics deleted: {len(dropped)}" + (f" ({PREFIX}*)" if dropped else ""))
