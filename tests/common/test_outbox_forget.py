"""Erasure in the outbox: the lead's rows are emptied and never sent, staged in the same
transaction or committed before; its `leads.erased` and tombstones stay, and every other
lead's rows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from leadflow.db import create_engine
from leadflow.events import Lead, LeadCaptured, LeadErased
from leadflow.outbox import kernel_metadata, outbox_table
from leadflow.uow import unit_of_work

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(kernel_metadata.create_all)
    yield engine
    await engine.dispose()


def captured(lead_id: uuid.UUID) -> LeadCaptured:
    lead = Lead(lead_id=lead_id, email="ada@acme.example", captured_at=datetime.now(UTC))
    return LeadCaptured(lead_id=lead_id, lead=lead)


def erased(lead_id: uuid.UUID) -> LeadErased:
    return LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC))


async def rows(engine: AsyncEngine) -> list[tuple[int, str, bytes, bytes, bool]]:
    """(id, topic, key, value, sent) of every outbox row, in id order."""
    async with engine.connect() as conn:
        t = outbox_table.c
        stmt = select(t.id, t.topic, t.key, t.value, t.sent_at.is_not(None)).order_by(t.id)
        return [(i, topic, k, v, bool(sent)) for i, topic, k, v, sent in await conn.execute(stmt)]


async def test_the_leads_rows_are_emptied_and_never_sent_and_the_erasure_stays(
    engine: AsyncEngine,
) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    async with unit_of_work(sessions) as uow:
        uow.emit(captured(ada))
        uow.emit(captured(bob))
    async with engine.begin() as conn:  # these were published already
        await conn.execute(update(outbox_table).values(sent_at=datetime.now(UTC)))
    async with unit_of_work(sessions) as uow:
        uow.emit(captured(bob))  # bob's second touch, not published yet
        uow.emit(captured(ada))  # ada's, not published yet
        uow.emit(erased(ada))
        uow.emit_record(record_id="t-1", topic="leads.captured", key=str(ada).encode(), value=b"",
                        headers=[])  # fmt: skip

    async with unit_of_work(sessions) as uow:
        assert await uow.forget_lead(ada) == 2

    left = [(topic, k.decode(), bool(v), sent) for _, topic, k, v, sent in await rows(engine)]
    a, b = str(ada), str(bob)
    assert left == [
        ("leads.captured", a, False, True),  # emptied
        ("leads.captured", b, True, True),
        ("leads.captured", b, True, False),  # another lead's: untouched
        ("leads.captured", a, False, True),  # emptied, and marked sent: it never goes out
        ("leads.erased", a, True, False),  # the erasure itself still goes out
        ("leads.captured", a, False, False),  # the tombstone still goes out
    ]


async def test_a_forgotten_last_row_keeps_its_id_for_itself(engine: AsyncEngine) -> None:
    """The relay marks what it published by id: the erasure staged after forgetting the
    lead's last row must not get that row's id (SQLite reuses a deleted last id), or
    the relay's next mark would record the erasure as sent unpublished."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ada = uuid.uuid4()
    async with unit_of_work(sessions) as uow:
        uow.emit(captured(ada))
    [(published, *_)] = await rows(engine)
    async with unit_of_work(sessions) as uow:
        await uow.forget_lead(ada)
        uow.emit(erased(ada))

    ids = [i for i, topic, *_ in await rows(engine) if topic == "leads.erased"]
    assert ids
    assert published not in ids


async def test_an_event_staged_earlier_in_the_erasing_transaction_is_never_written(
    engine: AsyncEngine,
) -> None:
    """A capture and its erasure handled in one poll: the capture's event must not go out."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ada = uuid.uuid4()
    async with unit_of_work(sessions) as uow:
        uow.emit(captured(ada))
        await uow.forget_lead(ada)
        uow.emit(erased(ada))

    assert [topic for _, topic, *_ in await rows(engine)] == ["leads.erased"]
