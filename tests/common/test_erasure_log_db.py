"""Erasure on the log, in the database: which tombstones an erasure stages, and when the
second ones fall due (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from leadflow import erasure_log
from leadflow.db import create_engine, session_factory
from leadflow.erasure_log import (
    LogEraser,
    dead_letter_key,
    log_keys_table,
    record_dead_letter,
    second_tombstones,
)
from leadflow.events import Envelope, LeadErased
from leadflow.outbox import kernel_metadata, outbox_table
from leadflow.uow import UnitOfWork, unit_of_work


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(kernel_metadata.create_all)
    yield session_factory(engine)
    await engine.dispose()


async def _outbox(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, bytes, bytes]]:
    async with sessions() as s:
        rows = await s.execute(
            select(outbox_table.c.topic, outbox_table.c.key, outbox_table.c.value).order_by(
                outbox_table.c.id
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]


async def test_an_erasure_tombstones_what_the_service_wrote_then_once_more_after_the_segment_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    lead, other = str(uuid.uuid4()), str(uuid.uuid4())
    mine = [dead_letter_key(lead.encode(), g, 3, 17) for g in ("lead-scoring", "feedback")]
    theirs = dead_letter_key(other.encode(), "lead-scoring", 1, 5)
    assert len(set(mine)) == 2  # two groups' dead letters of one event: two keys
    for key in (*mine, mine[0], theirs):  # recording the same key again changes nothing
        await record_dead_letter(sessions, "leads.captured.dlq", key, key.split(b"/")[0])

    eraser = LogEraser(
        partial(unit_of_work, sessions), produces=["leads.captured"], erasure_delay_seconds=20
    )
    handled: list[str] = []

    async def own_erasure(uow: UnitOfWork, env: Envelope) -> None:
        handled.append(str(env.data.lead_id))

    on_erased = eraser.handlers({LeadErased: own_erasure})[LeadErased]
    env = Envelope(LeadErased(lead_id=uuid.UUID(lead), erased_at=datetime.now(UTC)), "/t")
    async with unit_of_work(sessions) as uow:
        await on_erased(uow, env)
    assert handled == [lead]  # the service's own erasure ran, then the log's
    first = {
        ("leads.captured", lead.encode(), b""),
        *(("leads.captured.dlq", k, b"") for k in mine),
    }
    assert set(await _outbox(sessions)) == first  # empty value: a tombstone when published

    assert (
        await second_tombstones(partial(unit_of_work, sessions)) == 0
    )  # due after the segment time (10 s + 1 s)
    async with sessions() as s, s.begin():  # let the segment time pass
        due = log_keys_table.c.due_at.is_not(None)
        await s.execute(log_keys_table.update().where(due).values(due_at=datetime.now(UTC)))
    await asyncio.sleep(0.01)
    assert (
        await second_tombstones(partial(unit_of_work, sessions)) == 3
    )  # not theirs: that lead was never erased
    got = await _outbox(sessions)
    assert len(got) == 6
    assert set(got[3:]) == first
    async with sessions() as s:
        left = (await s.execute(select(log_keys_table.c.key, log_keys_table.c.due_at))).all()
    assert [(k.encode(), due) for k, due in left] == [(theirs, None)]


async def test_a_run_of_erasures_handled_together_tombstones_each_lead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    leads = [uuid.uuid4() for _ in range(3)]
    seen: list[int] = []

    async def own_erasures(uow: UnitOfWork, envs: list[Envelope]) -> None:
        seen.append(len(envs))

    eraser = LogEraser(
        partial(unit_of_work, sessions),
        produces=["leads.scored", "leads.qualified"],
        erasure_delay_seconds=60,
    )
    on_erased = eraser.batch_handlers({LeadErased: own_erasures})[LeadErased]
    envs = [Envelope(LeadErased(lead_id=x, erased_at=datetime.now(UTC)), "/t") for x in leads]
    async with unit_of_work(sessions) as uow:
        await on_erased(uow, envs)
    assert seen == [3]
    got = await _outbox(sessions)
    assert sorted(got) == sorted(
        (t, str(x).encode(), b"") for x in leads for t in ("leads.scored", "leads.qualified")
    )
    assert eraser.batch_handlers(None) == {}  # a service without batch handlers keeps none


async def test_no_dead_letter_is_recorded_for_a_lead_erased_already(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    lead = str(uuid.uuid4())
    before = dead_letter_key(lead.encode(), "feedback", 0, 1)
    assert await record_dead_letter(sessions, "leads.outcomes.dlq", before, lead.encode())
    eraser = LogEraser(partial(unit_of_work, sessions), produces=[], erasure_delay_seconds=60)
    env = Envelope(LeadErased(lead_id=uuid.UUID(lead), erased_at=datetime.now(UTC)), "/t")
    async with unit_of_work(sessions) as uow:
        await eraser.erase(uow, env)
    after = dead_letter_key(lead.encode(), "feedback", 0, 2)  # an outcome failing afterwards
    assert not await record_dead_letter(sessions, "leads.outcomes.dlq", after, lead.encode())
    async with sessions() as s:
        keys = (await s.execute(select(log_keys_table.c.key))).scalars().all()
    assert keys == [before.decode()]  # tombstoned (due again later); the later one never made
    assert await _outbox(sessions) == [("leads.outcomes.dlq", before, b"")]


async def test_the_worker_takes_batch_after_batch_while_they_come_full(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure_log, "_SECOND_BATCH", 2)
    now = datetime.now(UTC)
    rows = [
        {"topic": "leads.captured", "key": f"k{i}", "lead_key": "l", "due_at": now}
        for i in range(5)
    ]
    async with sessions() as s, s.begin():
        await s.execute(log_keys_table.insert(), rows)
    eraser = LogEraser(
        partial(unit_of_work, sessions), produces=[], erasure_delay_seconds=60, poll_seconds=3600
    )
    task = asyncio.create_task(eraser.run(), name="log-eraser")
    try:
        async with asyncio.timeout(20):  # one pass: 2 + 2 + 1, with no poll between them
            while len(await _outbox(sessions)) < 5:
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sorted(k for _, k, _ in await _outbox(sessions)) == [f"k{i}".encode() for i in range(5)]
    async with sessions() as s:
        assert (await s.execute(select(log_keys_table))).all() == []
