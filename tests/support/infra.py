"""Start the real Kafka broker once per run and hand out fresh databases."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[2]
KAFKA_SH = ROOT / "deploy" / "kafka" / "kafka.sh"


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_HELD: list[socket.socket] = []


def closed_port() -> int:
    """A port that refuses connections for as long as this process lives: bound here, never
    listening, so no server started later (a broker, a service) can take it over — a port
    from `free_port` can be, and a client then waits on a stranger instead of failing."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _HELD.append(s)
    return int(s.getsockname()[1])


class LocalKafka:
    """The project's own broker (deploy/kafka), or an existing cluster named by the env."""

    def __init__(self) -> None:
        self.bootstrap = os.environ.get("LEADFLOW_KAFKA_BOOTSTRAP", "localhost:9092")
        self.started_here = False

    def start(self) -> None:
        if "LEADFLOW_KAFKA_BOOTSTRAP" in os.environ:
            return
        # One starter at a time: two test processes (xdist workers, two runs) that both found
        # the port closed would otherwise both launch a broker on it.
        with file_lock("kafka-start"):
            if not port_open("127.0.0.1", 9092):
                subprocess.run([str(KAFKA_SH), "start"], check=True)
                self.started_here = True

    def restart(self) -> None:
        """Stop and start the local broker (chaos tests); only for the project's own broker."""
        subprocess.run([str(KAFKA_SH), "stop"], check=True)
        subprocess.run([str(KAFKA_SH), "start"], check=True)

    def stop(self) -> None:
        if self.started_here:
            subprocess.run([str(KAFKA_SH), "stop"], check=False)


@contextlib.contextmanager
def file_lock(name: str) -> Iterator[None]:
    """Hold an exclusive lock shared by every process of this user on the machine."""
    path = Path(tempfile.gettempdir()) / f"leadflow-{os.getuid()}-{name}.lock"
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes
        yield


def worker_tag() -> str:
    """`gw0_`… in an xdist worker, else empty: names of what this process makes say whose."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{worker}_" if worker else ""


def pg_database_name() -> str:
    """A new database name of this test process (the worker's id in it under xdist)."""
    return f"t_{worker_tag()}{uuid.uuid4().hex[:12]}"


def postgres_admin_url() -> str:
    url = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
    if not url:
        raise RuntimeError(
            "LEADFLOW_TEST_POSTGRES_URL is not set: run the tests with `make test`, which "
            "starts PostgreSQL (scripts/postgres.sh), or point it at a server"
        )
    return url


async def create_pg_database(admin_url: str) -> str:
    """A fresh, empty database on the test server; returns its URL."""
    name = pg_database_name()
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


class _PgPool:
    """Databases of this run, emptied after each use: CREATE DATABASE copies a whole
    template (half a second on a loaded machine), emptying one takes a few statements.
    Each test process (each xdist worker) has a pool of its own, never shared.

    Given back, a database is emptied (its `public` schema dropped and made anew) and
    renamed, so a URL is never handed out twice: a process left connected, or reconnecting,
    cannot reach the next test's database."""

    def __init__(self) -> None:
        self.free: list[str] = []

    async def take(self, admin: str) -> str:
        return self.free.pop() if self.free else await create_pg_database(admin)

    async def give_back(self, admin: str, url: str) -> None:
        try:
            emptied = await _empty_pg_database(admin, url)
        except Exception:
            # A session that would not end, say: what every test did before the pool.
            await drop_pg_database(admin, url)
            return
        self.free.append(emptied)

    async def drop_all(self) -> None:
        if not self.free:  # a run without PostgreSQL needs no server to be named
            return
        admin = postgres_admin_url()
        while self.free:
            await drop_pg_database(admin, self.free.pop())


PG_POOL = _PgPool()


async def _empty_pg_database(admin_url: str, url: str) -> str:
    """End the database's sessions, rename it, drop everything in it; its new URL."""
    old = make_url(url)
    new = pg_database_name()
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": old.database},
            )
            await conn.execute(text(f'ALTER DATABASE "{old.database}" RENAME TO "{new}"'))
    finally:
        await admin.dispose()
    renamed = old.set(database=new).render_as_string(hide_password=False)
    engine = create_async_engine(renamed, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return renamed


@contextlib.asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A fresh, empty database on the test server while in use, emptied for reuse after."""
    admin = postgres_admin_url()
    url = await PG_POOL.take(admin)
    try:
        yield url
    finally:
        await PG_POOL.give_back(admin, url)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]
