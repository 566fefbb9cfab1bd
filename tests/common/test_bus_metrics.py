"""What the consumer loop measures: each event's handling time (not the poll's, not the
back-off) and the lag of every assigned partition."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import TopicPartition
from kernel_app import create_tables, effects, effects_for, make_settings
from prometheus_client import REGISTRY
from sqlalchemy import insert

from leadflow.bus import lag_by_topic, partition_lags
from leadflow.events import Envelope, LeadErased
from leadflow.kafka import ensure_topics, physical_topic
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork
from support.kafka_tools import delete_prefixed, eventually, place_group_at_end

TOPIC = LeadErased.topic
BACKOFF = 1.5  # well above the 1 s bucket the handling times are read against
SLOW = 0.05


def handle_seconds(topic: str) -> tuple[float, float, float]:
    """(count, sum, count at or under 1 s) of the topic's handling-time histogram."""
    labels = {"topic": topic}
    get = REGISTRY.get_sample_value
    return (
        get("leadflow_event_handle_seconds_count", labels) or 0.0,
        get("leadflow_event_handle_seconds_sum", labels) or 0.0,
        get("leadflow_event_handle_seconds_bucket", {**labels, "le": "1.0"}) or 0.0,
    )


@pytest.fixture
async def rt(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Runtime]:
    """A runtime on a topic of this test's own (a prefix): the histogram counts every event
    its consumer handles, and other tests (other workers) publish on the shared topic."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, [TOPIC], partitions=1, prefix=prefix)
    settings = make_settings(database_url, kafka_bootstrap, kafka_topic_prefix=prefix)
    r = Runtime.build(settings.model_copy(update={"consumer_retry_backoff_seconds": BACKOFF}))
    await create_tables(r)
    yield r
    await r.stop()
    await delete_prefixed(kafka_bootstrap, created, prefix)


def topic_of(rt: Runtime) -> str:
    return physical_topic(TOPIC, rt.settings.kafka_topic_prefix)


async def consume(
    rt: Runtime, bootstrap: str, leads: list[uuid.UUID], fails: set[uuid.UUID]
) -> None:
    """An event per lead, all with one key (one partition, one poll), each handler taking
    SLOW seconds, those of `fails` failing once; returns once all are handled."""

    async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
        session = uow.session
        await asyncio.sleep(SLOW)
        if env.data.lead_id in fails:
            fails.discard(env.data.lead_id)
            raise RuntimeError("fails once")
        await session.execute(insert(effects).values(lead_id=str(env.data.lead_id), ce_id=env.id))

    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(bootstrap, group, [topic_of(rt)])
    rt.consume([TOPIC], {LeadErased: on_erased}, group=group)
    key = str(uuid.uuid4()).encode()
    producer = await rt.producer.get()
    for lead in leads:
        env = Envelope(data=LeadErased(lead_id=lead, erased_at=datetime.now(UTC)), source="/t")
        await producer.send_and_wait(topic_of(rt), env.value(), key=key, headers=env.headers())
    await rt.start()
    ids = {str(x) for x in leads}

    async def done() -> bool:
        return len(await effects_for(rt, ids)) == len(ids)

    await eventually(done)


@pytest.mark.kafka
async def test_events_handled_together_each_record_their_share_not_the_whole_poll(
    rt: Runtime, kafka_bootstrap: str
) -> None:
    count, total, _ = handle_seconds(topic_of(rt))
    await consume(rt, kafka_bootstrap, [uuid.uuid4() for _ in range(5)], set())
    count2, total2, _ = handle_seconds(topic_of(rt))
    assert count2 - count == 5
    # One transaction of five SLOW handlers: five shares add up to it (the whole poll
    # recorded once per event would be five times that; the margin is for a loaded machine).
    assert 5 * SLOW <= total2 - total < 4 * 5 * SLOW


@pytest.mark.kafka
async def test_an_event_retried_records_its_handling_time_without_the_back_off(
    rt: Runtime, kafka_bootstrap: str
) -> None:
    count, _, fast = handle_seconds(topic_of(rt))
    leads = [uuid.uuid4() for _ in range(5)]
    # The third fails once: the transaction of all five rolls back, each is then handled
    # alone, the third again after a back-off of BACKOFF seconds.
    await consume(rt, kafka_bootstrap, leads, {leads[2]})
    count2, _, fast2 = handle_seconds(topic_of(rt))
    assert count2 - count == 5
    assert fast2 - fast == 5  # each under 1 s: none counts the BACKOFF s back-off or the poll


def tp(n: int, topic: str = TOPIC) -> TopicPartition:
    return TopicPartition(topic, n)


def test_the_lag_is_summed_over_every_assigned_partition_not_the_last_poll_only() -> None:
    assigned = {tp(0), tp(1), tp(2), tp(0, "leads.outcomes")}
    high = {tp(0): 100, tp(1): 50, tp(0, "leads.outcomes"): 7}
    lags = partition_lags({}, {tp(0): 89, tp(0, "leads.outcomes"): 6}, high.get, assigned)
    assert lags == {tp(0): 10, tp(0, "leads.outcomes"): 0}
    lags = partition_lags(lags, {tp(1): 44}, high.get, assigned)  # the next poll: another one
    assert lag_by_topic(lags, [TOPIC, "leads.outcomes"]) == {TOPIC: 15, "leads.outcomes": 0}
    # A partition taken away no longer counts; a topic with none assigned is 0.
    lags = partition_lags(lags, {}, high.get, {tp(1)})
    assert lag_by_topic(lags, [TOPIC, "leads.outcomes"]) == {TOPIC: 5, "leads.outcomes": 0}
