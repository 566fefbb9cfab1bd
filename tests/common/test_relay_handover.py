"""The relay publishes what this process committed from memory, the rest from the table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from kernel_app import outbox_unsent, stage
from sqlalchemy import insert, select, update

from leadflow.events import Envelope, LeadErased
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from support.kafka_tools import end_offsets, read_after

TOPIC = LeadErased.topic


async def _commit_elsewhere(rt: Runtime, envelope: Envelope) -> None:
    """A row another process (or replica) committed: this relay was not told about it."""
    async with rt.engine.begin() as conn:
        await conn.execute(
            insert(outbox_table).values(
                event_id=envelope.id,
                topic=envelope.topic,
                key=envelope.key,
                value=envelope.value(),
                headers=[[k, v.decode()] for k, v in envelope.headers()],
                created_at=datetime.now(UTC),
            )
        )


@pytest.mark.kafka
async def test_rows_committed_here_and_elsewhere_go_out_as_staged_in_id_order(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    lead = uuid.uuid4()  # one key, so one partition: the order is visible on the topic
    start = await end_offsets(kafka_bootstrap, [TOPIC])
    await stage(runtime, [lead])
    elsewhere = Envelope(data=LeadErased(lead_id=lead, erased_at=datetime.now(UTC)), source="/x")
    await _commit_elsewhere(runtime, elsewhere)
    await stage(runtime, [lead])
    assert await runtime.relay.publish_pending() == 3
    assert await outbox_unsent(runtime) == 0
    ours = await read_after(
        kafka_bootstrap, start, lambda m: len(m) >= 3, keep=lambda m: m.key == elsewhere.key
    )
    assert len(ours) == 3
    assert dict(ours[1].headers) == dict(elsewhere.headers())
    assert ours[1].value == elsewhere.value()
    for m in (ours[0], ours[2]):  # from memory: the same message as the table holds
        headers = dict(m.headers)
        assert headers["ce_source"] == b"/kernel-test"
        assert LeadErased.model_validate_json(m.value).lead_id == lead


async def test_rows_another_relay_sent_are_forgotten(runtime: Runtime) -> None:
    await stage(runtime, [uuid.uuid4() for _ in range(3)])
    async with runtime.engine.begin() as conn:  # another replica's relay published them
        await conn.execute(update(outbox_table).values(sent_at=datetime.now(UTC)))
    assert await runtime.relay.publish_pending() == 0
    assert not runtime.relay._known


async def test_events_staged_together_are_stored_in_staging_order(runtime: Runtime) -> None:
    async with runtime.transaction() as uow:
        staged = [
            uow.emit(LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)))
            for _ in range(50)
        ]
    async with runtime.sessions() as s:
        rows = (await s.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    assert [r.event_id for r in rows] == [e.id for e in staged]
    for row, envelope in zip(rows, staged, strict=True):
        assert (row.topic, row.key, row.value) == (envelope.topic, envelope.key, envelope.value())
        assert [(k, v.encode()) for k, v in row.headers] == envelope.headers()
        assert row.sent_at is None
        assert row.created_at.tzinfo is not None
