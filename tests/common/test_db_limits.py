"""A query on a PostgreSQL session that blocks ends within the configured time (issue 19 #9)."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator

import pytest
from kernel_app import make_settings
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.db import create_engine, is_unavailable
from leadflow.db_limits import DbLimits
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres


@pytest.fixture
async def locked(pg_url: str) -> AsyncIterator[str]:
    """A table whose only row another session holds locked for the test's length."""
    holder = create_engine(pg_url)
    async with holder.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int)"))
        await conn.execute(text("INSERT INTO t VALUES (1, 0)"))
    async with holder.connect() as conn, conn.begin():
        await conn.execute(text("SELECT * FROM t WHERE id = 1 FOR UPDATE"))
        yield pg_url
    await holder.dispose()


async def _update(engine: AsyncEngine) -> float:
    started = time.monotonic()
    with pytest.raises((DBAPIError, TimeoutError)) as caught:
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
    assert is_unavailable(caught.value) or "57014" in str(caught.value)
    return time.monotonic() - started


async def test_a_query_waiting_on_a_lock_ends_at_the_command_timeout(locked: str) -> None:
    engine = create_engine(locked, limits=DbLimits(command_timeout=1.0, statement_timeout_ms=0))
    try:
        assert await _update(engine) < 3  # without the limit: until the lock is released
    finally:
        await engine.dispose()


async def test_the_server_ends_a_statement_past_the_statement_timeout(pg_url: str) -> None:
    engine = create_engine(pg_url, limits=DbLimits(command_timeout=30, statement_timeout_ms=500))
    started = time.monotonic()
    try:
        with pytest.raises(DBAPIError, match="statement timeout"):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT pg_sleep(10)"))
    finally:
        await engine.dispose()
    assert time.monotonic() - started < 3


async def test_a_transaction_left_idle_is_ended_by_the_server_and_its_locks_go(
    pg_url: str,
) -> None:
    engine = create_engine(pg_url, limits=DbLimits(idle_in_transaction_timeout_ms=500))
    other = create_engine(pg_url, limits=DbLimits(command_timeout=5, statement_timeout_ms=0))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int)"))
            await conn.execute(text("INSERT INTO t VALUES (1, 0)"))
        async with engine.connect() as idle:
            await idle.begin()
            await idle.execute(text("SELECT * FROM t WHERE id = 1 FOR UPDATE"))
            started = time.monotonic()  # and now this session goes quiet, holding the lock
            async with other.begin() as conn:
                await conn.execute(text("UPDATE t SET v = 1 WHERE id = 1"))
            assert time.monotonic() - started < 3
            with pytest.raises(DBAPIError):
                await idle.execute(text("SELECT 1"))  # the server ended that session
    finally:
        await engine.dispose()
        await other.dispose()


async def test_the_runtime_connects_with_the_settings_limits_and_tcp_keepalives(
    pg_url: str, kafka_bootstrap: str
) -> None:
    settings = make_settings(
        pg_url,
        kafka_bootstrap,
        db_statement_timeout_ms=4000,
        db_idle_in_transaction_timeout_ms=7000,
        db_keepalive_idle_seconds=11,
        db_keepalive_interval_seconds=3,
        db_keepalive_count=2,
    )
    rt = Runtime.build(settings)
    try:
        async with rt.engine.connect() as conn:
            shown = [
                (await conn.execute(text(f"SHOW {name}"))).scalar_one()
                for name in ("statement_timeout", "idle_in_transaction_session_timeout")
            ]
            raw = await conn.get_raw_connection()
            sock = raw.driver_connection._transport.get_extra_info("socket")  # type: ignore[union-attr]
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 11
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 17_000
        assert shown == ["4s", "7s"]
    finally:
        await rt.stop()
