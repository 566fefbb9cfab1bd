"""Erasure in the outbox: the lead's rows go, sent or not, staged in the same transaction or
committed before; its `leads.erased` and tombstones stay, and so does every other lead's."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from leadflow.db import create_engine
from leadflow.events import Envelope, Lead, LeadCaptured, LeadErased
from leadflow.outbox import add_event, add_record, forget_lead, kernel_metadata, outbox_table

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(kernel_metadata.create_all)
    yield engine
    await engine.dispose()


def captured(lead_id: uuid.UUID) -> Envelope:
    lead = Lead(lead_id=lead_id, email="ada@acme.example", captured_at=datetime.now(UTC))
    return Envelope(data=LeadCaptured(lead_id=lead_id, lead=lead), source="/test")


def erased(lead_id: uuid.UUID) -> Envelope:
    return Envelope(data=LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC)), source="/test")


async def rows(engine: AsyncEngine) -> list[tuple[str, bytes, bytes]]:
    async with engine.connect() as conn:
        stmt = select(outbox_table.c.topic, outbox_table.c.key, outbox_table.c.value)
        return [tuple(r) for r in await conn.execute(stmt.order_by(outbox_table.c.id))]  # type: ignore[misc]


async def test_the_leads_rows_go_sent_or_not_and_the_erasure_and_tombstones_stay(
    engine: AsyncEngine,
) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    async with sessions() as s, s.begin():
        await add_event(s, captured(ada))
        await add_event(s, captured(bob))
    async with engine.begin() as conn:  # the first capture was published already
        await conn.execute(update(outbox_table).values(sent_at=datetime.now(UTC)))
    async with sessions() as s, s.begin():
        await add_event(s, captured(ada))  # a second touch, not published yet
        await add_event(s, erased(ada))
        add_record(s, record_id="t-1", topic="leads.captured", key=str(ada).encode(), value=b"",
                   headers=[])  # fmt: skip

    async with sessions() as s, s.begin():
        assert await forget_lead(s, ada) == 2

    left = await rows(engine)
    assert [(t, k) for t, k, _ in left] == [
        ("leads.captured", str(bob).encode()),
        ("leads.erased", str(ada).encode()),
        ("leads.captured", str(ada).encode()),
    ]
    assert left[2][2] == b""  # the tombstone


async def test_an_event_staged_earlier_in_the_erasing_transaction_is_never_written(
    engine: AsyncEngine,
) -> None:
    """A capture and its erasure handled in one poll: the capture's event must not go out."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ada = uuid.uuid4()
    async with sessions() as s, s.begin():
        await add_event(s, captured(ada))
        await forget_lead(s, ada)
        await add_event(s, erased(ada))

    assert [t for t, _, _ in await rows(engine)] == ["leads.erased"]
