"""On PostgreSQL one relay per database publishes: it keeps the lock from pass to pass, and
another takes over when it stops or loses its connection."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from kernel_app import create_tables, make_settings, outbox_unsent, stage
from sqlalchemy import text

from leadflow.service import Runtime

pytestmark = pytest.mark.kafka

_HOLDERS = text(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.fixture
async def replicas(pg_url: str, kafka_bootstrap: str) -> AsyncIterator[list[Runtime]]:
    """Two replicas of one service: one database, each with its own relay."""
    runtimes = [Runtime.build(make_settings(pg_url, kafka_bootstrap)) for _ in range(2)]
    await create_tables(runtimes[0])
    yield runtimes
    for rt in runtimes:
        await rt.stop()


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)


async def _holders(rt: Runtime) -> list[int]:
    async with rt.engine.connect() as conn:
        return list((await conn.scalars(_HOLDERS)).all())


async def _all_sent(rt: Runtime) -> bool:
    return await outbox_unsent(rt) == 0


async def test_one_relay_holds_the_lock_across_passes_and_another_takes_over(
    replicas: list[Runtime],
) -> None:
    a, b = replicas
    relay_a = asyncio.create_task(a.relay.run())
    await stage(a, [uuid.uuid4() for _ in range(3)])
    await _until(lambda: _all_sent(a))
    (leader,) = await _holders(a)

    relay_b = asyncio.create_task(b.relay.run())
    await stage(b, [uuid.uuid4() for _ in range(3)])  # committed by b, published by a
    await _until(lambda: _all_sent(a))
    assert await _holders(a) == [leader], "the lock stays on one connection of one relay"

    a.relay.stop()
    await relay_a
    await stage(b, [uuid.uuid4() for _ in range(3)])
    await _until(lambda: _all_sent(b))  # b leads now
    holders = await _holders(b)
    assert len(holders) == 1
    assert holders != [leader]
    b.relay.stop()
    await relay_b
    assert await _holders(b) == [], "a stopped relay leaves no lock behind"


async def test_a_relay_whose_connection_is_cut_takes_the_lock_again(
    replicas: list[Runtime],
) -> None:
    a, _ = replicas
    relay = asyncio.create_task(a.relay.run())
    await stage(a, [uuid.uuid4()])
    await _until(lambda: _all_sent(a))
    (leader,) = await _holders(a)
    async with a.engine.connect() as conn:
        await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": leader})
    await stage(a, [uuid.uuid4() for _ in range(3)])
    await _until(lambda: _all_sent(a))
    holders = await _holders(a)
    assert len(holders) == 1
    assert holders != [leader]
    a.relay.stop()
    await relay


async def test_a_pass_marks_what_the_last_one_published_in_the_statement_that_reads(
    pg_url: str, kafka_bootstrap: str
) -> None:
    """One round trip per pass: the rows just published are marked by the next read."""
    from sqlalchemy import event  # noqa: PLC0415

    rt = Runtime.build(make_settings(pg_url, kafka_bootstrap))
    await create_tables(rt)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)

    event.listen(rt.engine.sync_engine, "before_cursor_execute", count)
    try:
        await stage(rt, [uuid.uuid4() for _ in range(3)])
        assert await rt.relay._publish_as_leader() == 3
        assert await outbox_unsent(rt) == 3  # published, marked by the next pass
        await stage(rt, [uuid.uuid4() for _ in range(2)])
        statements.clear()
        assert await rt.relay._publish_as_leader() == 2
        assert len(statements) == 1, statements  # marked the 3 and read the 2 at once
        assert await outbox_unsent(rt) == 2
        assert await rt.relay._publish_as_leader() == 0  # marks the 2, nothing new
        assert await outbox_unsent(rt) == 0
    finally:
        event.remove(rt.engine.sync_engine, "before_cursor_execute", count)
        await rt.relay._resign()  # the lock's connection, kept by the passes
        await rt.stop()
