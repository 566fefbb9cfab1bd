"""PostgreSQL connections are checked before use only after sitting idle: a connection the
server dropped meanwhile is replaced unseen, and one dropped while in steady use fails once
as "unavailable" and is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.db import create_engine, is_unavailable

_OTHERS = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def _one(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        return int(await conn.scalar(text("SELECT 1")) or 0)


async def _drop_its_connections(url: str) -> None:
    """What a database restart or failover does to the pool's connections."""
    killer = create_engine(url)
    try:
        async with killer.connect() as conn:
            await conn.execute(_OTHERS)
    finally:
        await killer.dispose()


async def test_an_idle_connection_the_server_dropped_is_replaced_unseen(pg_url: str) -> None:
    engine = create_engine(pg_url, idle_ping_seconds=0)
    try:
        assert await _one(engine) == 1
        await _drop_its_connections(pg_url)
        assert await _one(engine) == 1
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_a_drop_fails_once(
    pg_url: str,
) -> None:
    engine = create_engine(pg_url, idle_ping_seconds=3600)
    try:
        assert await _one(engine) == 1
        await _drop_its_connections(pg_url)
        with pytest.raises(DBAPIError) as failed:
            await _one(engine)
        assert is_unavailable(failed.value)  # callers answer 503 / retry, never a 500
        assert await _one(engine) == 1
    finally:
        await engine.dispose()
