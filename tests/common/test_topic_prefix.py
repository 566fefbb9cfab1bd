"""LEADFLOW_KAFKA_TOPIC_PREFIX: a run (`make bench`) on topics of its own. The outbox
publishes, consumers read and dead letters go to `<prefix><topic>` only; the contract's
topics get nothing, and no prefix (every normal run) leaves their names alone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kernel_app import create_tables, effects_for, make_settings, recording_handlers

from leadflow.events import LeadOutcome, dlq_topic
from leadflow.kafka import TOKENS_TOPIC, ensure_topics, physical_topic
from leadflow.service import Runtime
from support.kafka_tools import delete_prefixed, end_offsets, eventually, read_after

pytestmark = pytest.mark.kafka


def test_no_prefix_keeps_the_contract_names_and_tokens_are_shared() -> None:
    assert physical_topic("leads.erased", "") == "leads.erased"
    assert physical_topic("leads.erased", "bench.") == "bench.leads.erased"
    assert physical_topic("bench.leads.erased.dlq", "bench.") == "bench.leads.erased.dlq"
    assert physical_topic(TOKENS_TOPIC, "bench.") == TOKENS_TOPIC


@pytest.fixture
async def prefix(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A prefix of this test's own; its topics are deleted afterwards."""
    p = f"t{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, [LeadOutcome.topic], partitions=1, prefix=p)
    assert set(created) >= {p + LeadOutcome.topic, p + dlq_topic(LeadOutcome.topic)}
    yield p
    await delete_prefixed(kafka_bootstrap, created, p)


async def test_events_and_dead_letters_stay_on_the_prefixed_topics(
    database_url: str, kafka_bootstrap: str, prefix: str
) -> None:
    topic = LeadOutcome.topic
    ours = [topic, dlq_topic(topic)]
    before = await end_offsets(kafka_bootstrap, [prefix + t for t in ours] + ours)
    rt = Runtime.build(make_settings(database_url, kafka_bootstrap, kafka_topic_prefix=prefix))
    await create_tables(rt)
    good, poison = uuid.uuid4(), uuid.uuid4()
    rt.consume([topic], recording_handlers(poison={poison}), group=f"{prefix}group")
    await rt.start()
    try:
        for lead in (good, poison):
            async with rt.transaction() as uow:
                uow.emit(LeadOutcome(lead_id=lead, stage="won", occurred_at=datetime.now(UTC)))
        await eventually(lambda: _handled(rt, str(good)))
        keys = {str(good).encode(), str(poison).encode()}

        def dead_lettered(msgs: list[Any]) -> bool:
            return any(m.topic == prefix + dlq_topic(topic) for m in msgs)

        got = await read_after(kafka_bootstrap, before, dead_lettered, timeout=30)
        # A dead letter's own key is its consumer group's; the lead's is kept in a header.
        mine = [(m.topic, _lead_key(m)) for m in got if _lead_key(m) in keys]
        assert (prefix + topic, str(good).encode()) in mine
        assert (prefix + dlq_topic(topic), str(poison).encode()) in mine
        assert {t for t, _ in mine} == {prefix + topic, prefix + dlq_topic(topic)}
    finally:
        await rt.stop()


async def _handled(rt: Runtime, lead: str) -> bool:
    return len(await effects_for(rt, {lead})) == 1


def _lead_key(msg: Any) -> bytes | None:
    original = dict(msg.headers or ()).get("dlq_original_key")
    return original if original is not None else msg.key
