"""Deadlocks, serialization failures and read-only transactions are retried, not dead-lettered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from kernel_app import create_tables, effects, effects_for, make_settings, stage
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from leadflow.db import is_transient
from leadflow.events import Envelope, LeadErased, dlq_topic
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    e = create_async_engine(pg_url)
    async with e.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, v int)"))
        await conn.execute(text("INSERT INTO t VALUES (1, 0), (2, 0)"))
    yield e
    await e.dispose()


async def _deadlock(engine: AsyncEngine) -> BaseException:
    async def cross(conn: AsyncConnection, first: int, then: int, ready: asyncio.Event) -> None:
        async with conn.begin():
            await conn.execute(text("UPDATE t SET v = v + 1 WHERE id = :i"), {"i": first})
            ready.set()
            await asyncio.sleep(0.3)
            await conn.execute(text("UPDATE t SET v = v + 1 WHERE id = :i"), {"i": then})

    async with engine.connect() as a, engine.connect() as b:
        r = await asyncio.gather(
            cross(a, 1, 2, asyncio.Event()), cross(b, 2, 1, asyncio.Event()), return_exceptions=True
        )
    [error] = [x for x in r if isinstance(x, BaseException)]
    return error


async def _serialization_failure(engine: AsyncEngine) -> BaseException:
    async with engine.connect() as a, engine.connect() as b:
        await a.begin()
        await a.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        await a.execute(text("SELECT v FROM t WHERE id = 1"))  # the snapshot is taken
        async with b.begin():
            await b.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
        try:
            await a.execute(text("UPDATE t SET v = v + 1 WHERE id = 1"))
        except DBAPIError as exc:
            return exc
    raise AssertionError("no serialization failure")


async def _read_only(engine: AsyncEngine) -> BaseException:
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        try:
            await conn.execute(text("UPDATE t SET v = 1"))
        except DBAPIError as exc:
            return exc
    raise AssertionError("the read-only transaction wrote")


@pytest.mark.parametrize(
    ("provoke", "sqlstate"),
    [(_deadlock, "40P01"), (_serialization_failure, "40001"), (_read_only, "25006")],
)
async def test_conflicts_and_a_read_only_primary_are_transient(
    engine: AsyncEngine, provoke: object, sqlstate: str
) -> None:
    exc = await provoke(engine)  # type: ignore[operator]
    assert isinstance(exc, DBAPIError)
    assert exc.orig.sqlstate == sqlstate  # type: ignore[union-attr]
    assert is_transient(exc)


async def test_a_handler_failing_on_a_read_only_transaction_is_retried_past_max_attempts(
    pg_url: str, kafka_bootstrap: str
) -> None:
    rt = Runtime.build(make_settings(pg_url, kafka_bootstrap))  # 3 attempts, then the DLQ
    await create_tables(rt)
    failures = 0

    async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
        session = uow.session
        nonlocal failures
        if failures < 5:  # more than the attempts a failing handler gets
            failures += 1
            await session.execute(text("SET TRANSACTION READ ONLY"))
        await session.execute(insert(effects).values(lead_id=str(env.data.lead_id), ce_id=env.id))

    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, [LeadErased.topic])
    start = await end_offsets(kafka_bootstrap, [dlq_topic(LeadErased.topic)])
    rt.consume([LeadErased.topic], {LeadErased: on_erased}, group=group)
    await rt.start()
    try:
        lead = uuid.uuid4()
        await stage(rt, [lead])
        await eventually(lambda: _handled(rt, str(lead)))
    finally:
        await rt.stop()
    assert failures == 5
    dead = await read_after(kafka_bootstrap, start, lambda m: False, timeout=1)
    # This lead's dead letters only: the group reads the shared topic, where other tests
    # publish events meant to be dead-lettered.
    ours = [("dlq_consumer_group", group.encode()), ("dlq_original_key", str(lead).encode())]
    assert [m for m in dead if all(h in m.headers for h in ours)] == []


async def _handled(rt: Runtime, lead: str) -> bool:
    return len(await effects_for(rt, {lead})) == 1
