"""Replicas that migrate on start (no migration Job) take turns on PostgreSQL (issue 20, 8)."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from leadflow.migrations import MIGRATION_LOCK_KEY, upgrade
from marketing_intake.app import MIGRATIONS
from support.kafka_tools import eventually


async def test_a_migration_waits_for_the_one_under_way(pg_url: str) -> None:
    holder = create_async_engine(pg_url)
    checker = create_async_engine(pg_url)
    done = threading.Event()
    failed: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade(MIGRATIONS, pg_url)
        except BaseException as exc:  # reported below
            failed.append(exc)
        finally:
            done.set()

    try:
        async with holder.connect() as lock:
            # Another replica's migration holds the lock (session-level here, same key).
            await lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
            thread = threading.Thread(target=migrate, daemon=True)
            thread.start()
            # The migration is blocked, not merely slow to start: it waits on the lock.
            await eventually(lambda: _waiting_for_the_lock(checker), timeout=30)
            assert not done.is_set(), "the migration ran while another one held the lock"
            async with checker.connect() as conn:
                tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert "alembic_version" not in tables
            await lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
            await asyncio.to_thread(done.wait, 60)
        assert failed == []
        async with checker.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "alembic_version" in tables
    finally:
        await holder.dispose()
        await checker.dispose()


async def _waiting_for_the_lock(engine: AsyncEngine) -> bool:
    """Whether a session of this database waits for the migration lock (a bigint advisory
    lock: its high 32 bits in classid, its low ones in objid, objsubid 1)."""
    async with engine.connect() as conn:
        waiting = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
            ),
            {"high": MIGRATION_LOCK_KEY >> 32, "low": MIGRATION_LOCK_KEY & 0xFFFFFFFF},
        )
    return bool(waiting)
