"""Through a real PgBouncer in transaction mode (issue 20): `LEADFLOW_DATABASE_POOLER`.

PgBouncer (Debian's package, 1.18: before `max_prepared_statements`) hands each transaction
to whichever server connection is free. Without the setting a service cannot even connect
(asyncpg sends the session timeouts as startup parameters, which PgBouncer refuses); with it,
many sessions share two server connections without prepared statements getting in each
other's way, and the outbox relay publishes through its own session-mode URL, holding the
one-publisher lock there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kernel_app import create_tables, make_settings, outbox_unsent, stage
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from leadflow.db import create_engine
from leadflow.db_limits import DbLimits
from leadflow.service import Runtime
from support.infra import free_port, port_open, postgres_admin_url

pytestmark = pytest.mark.postgres

SERVER_CONNECTIONS = 2  # PgBouncer's pool per database: every session shares these


@pytest.fixture(scope="module")
def pgbouncer() -> Iterator[str]:
    """PgBouncer in transaction mode in front of the test server: its host:port."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not os.path.exists(binary):
        raise RuntimeError("pgbouncer is not installed: scripts/postgres.sh start installs it")
    server = make_url(postgres_admin_url())
    work = Path(tempfile.mkdtemp(prefix="leadflow-pgbouncer-"))
    port = free_port()
    (work / "users.txt").write_text(f'"{server.username}" ""\n')
    (work / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={server.host} port={server.port}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {work}/users.txt\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_CONNECTIONS}\n"
        f"max_client_conn = 200\nlogfile = {work}/pgbouncer.log\n"
    )
    # PgBouncer refuses to run as root: as root, it runs as the postgres user.
    user = "postgres" if os.geteuid() == 0 else None
    if user is not None:
        for path in (work, *work.iterdir()):
            shutil.chown(path, user, user)
    proc = subprocess.Popen(
        [binary, str(work / "pgbouncer.ini")],
        user=user,
        group=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (
                    (work / "pgbouncer.log").read_text()
                    if (work / "pgbouncer.log").exists()
                    else ""
                )
                raise RuntimeError(f"pgbouncer did not start: {log}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _through(pgbouncer: str, direct_url: str) -> str:
    """The same database as `direct_url`, reached through PgBouncer."""
    host, port = pgbouncer.split(":")
    url = make_url(direct_url).set(host=host, port=int(port))
    return url.render_as_string(hide_password=False)


async def test_without_the_setting_pgbouncer_refuses_the_connection(
    pgbouncer: str, pg_url: str
) -> None:
    engine = create_engine(_through(pgbouncer, pg_url), limits=DbLimits())
    try:
        with pytest.raises(DBAPIError, match="unsupported startup parameter"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def test_with_the_setting_many_sessions_share_two_server_connections(
    pgbouncer: str, pg_url: str
) -> None:
    engine = create_engine(
        _through(pgbouncer, pg_url), limits=DbLimits(pooler="pgbouncer-transaction")
    )
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE hits (id uuid PRIMARY KEY, n int NOT NULL)"))

        async def session(worker: int) -> int:
            done = 0
            for i in range(15):
                async with engine.begin() as conn:
                    row = uuid.uuid4()
                    await conn.execute(
                        text("INSERT INTO hits (id, n) VALUES (:id, :n)"), {"id": row, "n": i}
                    )
                    got = await conn.scalar(text("SELECT n FROM hits WHERE id = :id"), {"id": row})
                    assert got == i, (worker, i)
                    done += 1
            return done

        # Ten pooled client connections, two server connections behind them.
        done = await asyncio.gather(*(session(w) for w in range(10)))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM hits")) == sum(done) == 150
    finally:
        await engine.dispose()


@pytest.fixture
async def pooled(pgbouncer: str, pg_url: str, kafka_bootstrap: str) -> AsyncIterator[list[Runtime]]:
    """Two replicas of one service behind PgBouncer, each relay on the direct URL."""
    settings = make_settings(
        _through(pgbouncer, pg_url),
        kafka_bootstrap,
        database_pooler="pgbouncer-transaction",
        relay_database_url=pg_url,
    )
    runtimes = [Runtime.build(settings) for _ in range(2)]
    await create_tables(runtimes[0])
    yield runtimes
    for rt in runtimes:
        await rt.stop()


@pytest.mark.kafka
async def test_behind_pgbouncer_one_relay_publishes_over_its_session_url(
    pooled: list[Runtime], pg_url: str
) -> None:
    a = pooled[0]
    assert a.relay_engine is not None
    assert make_url(str(a.relay_engine.url)).port == make_url(pg_url).port
    relays = [asyncio.create_task(rt.relay.run()) for rt in pooled]
    try:
        for rt in pooled:  # each commits through PgBouncer
            await stage(rt, [uuid.uuid4() for _ in range(20)])
        async with asyncio.timeout(30):
            while await outbox_unsent(a):
                await asyncio.sleep(0.05)
        # One relay holds the lock, on a direct session (a pooled one would lose it).
        async with a.relay_engine.connect() as conn:
            holders = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
        assert holders == 1
    finally:
        for rt in pooled:
            rt.relay.stop()
        await asyncio.gather(*relays, return_exceptions=True)
