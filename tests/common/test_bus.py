"""Outbox relay and consumer loop against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from kernel_app import (
    create_tables,
    effects,
    effects_for,
    make_settings,
    outbox_unsent,
    recording_handlers,
    stage,
)
from prometheus_client import REGISTRY
from sqlalchemy import insert, select

from leadflow.bus import EventConsumer, _InFlight
from leadflow.erasure_log import erase_from_log
from leadflow.events import Envelope, LeadErased, LeadOutcome, dlq_topic
from leadflow.kafka import ensure_topics, partition_for, physical_topic
from leadflow.outbox import inbox_table
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork
from support.kafka_tools import (
    delete_prefixed,
    end_offsets,
    eventually,
    place_group_at_end,
    read_after,
)

pytestmark = pytest.mark.kafka

TOPIC = LeadErased.topic
CONSUMED = "leadflow_events_consumed_total"


async def _consume(rt: Runtime, bootstrap: str, topic: str = TOPIC, **kw: object) -> str:
    """Consume TOPIC (under the runtime's prefix: `topic` is its name on the broker)."""
    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(bootstrap, group, [topic])
    rt.consume([TOPIC], recording_handlers(**kw), group=group)  # type: ignore[arg-type]
    await rt.start()
    return group


async def test_events_are_published_in_order_and_applied_once(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    await _consume(runtime, kafka_bootstrap)
    leads = [uuid.uuid4() for _ in range(5)]
    ids = {str(x) for x in leads}
    start = await end_offsets(kafka_bootstrap, [TOPIC])
    await stage(runtime, leads * 4)  # 4 events per lead, interleaved
    await eventually(lambda: _count(runtime, ids, 20))
    # Redeliver every event once more: the inbox turns the repeats into no-ops. Read from
    # before staging (the shared topic holds every other test's events too) until all 20.

    keys = {lead.encode() for lead in ids}
    producer = await runtime.producer.get()
    ours = await read_after(
        kafka_bootstrap, start, lambda m: len(m) >= 20, keep=lambda m: m.key in keys
    )
    assert len(ours) == 20
    for m in ours:
        await producer.send_and_wait(TOPIC, m.value, key=m.key, headers=list(m.headers))
    await asyncio.sleep(1.5)
    got = await effects_for(runtime, ids)
    assert len(got) == 20
    assert len({ce for _, ce in got}) == 20
    # Per lead, effects follow the order the events were staged (one partition per key).
    for lead in ids:
        ce_ids = [ce for lid, ce in got if lid == lead]
        staged = [m.headers for m in ours if m.key.decode() == lead][: len(ce_ids)]
        assert ce_ids == [dict(h)["ce_id"].decode() for h in staged]
    assert await outbox_unsent(runtime) == 0


async def test_poison_and_failing_events_go_to_the_dlq_and_the_loop_goes_on(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    bad_lead = uuid.uuid4()
    group = await _consume(runtime, kafka_bootstrap, poison={bad_lead})
    start = await end_offsets(kafka_bootstrap, [dlq_topic(TOPIC)])
    producer = await runtime.producer.get()
    good = Envelope(data=LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)), source="/t")
    await producer.send_and_wait(TOPIC, b"{not json", key=good.key, headers=good.headers())
    # An outcome whose handler always fails (an erasure is never dead-lettered: below).
    bad = Envelope(
        data=LeadOutcome(lead_id=bad_lead, stage="won", occurred_at=datetime.now(UTC)), source="/t"
    )
    await producer.send_and_wait(TOPIC, bad.value(), key=bad.key, headers=bad.headers())
    after = uuid.uuid4()
    await stage(runtime, [after])
    await eventually(lambda: _count(runtime, {str(after)}, 1))
    # This group reads the other tests' malformed events on the shared topic too (`_lead`).

    def of(msgs: list[Any]) -> list[Any]:
        leads = (str(good.data.lead_id), str(bad_lead))
        return [m for m in msgs if _group(m) == group and _lead(m) in leads]

    ours = of(await read_after(kafka_bootstrap, start, lambda m: len(of(m)) >= 2, timeout=10))
    causes = {dict(m.headers)["dlq_error_type"].decode(): dict(m.headers) for m in ours}
    assert set(causes) == {"MalformedEvent", "RuntimeError"}
    assert causes["RuntimeError"]["dlq_attempts"] == b"3"
    assert causes["MalformedEvent"]["dlq_original_topic"] == TOPIC.encode()
    assert b"invalid LeadErased data" in causes["MalformedEvent"]["dlq_error_message"]
    poisoned = next(m for m in ours if dict(m.headers)["dlq_error_type"] == b"MalformedEvent")
    assert poisoned.value == b"{not json"  # the original bytes
    assert await effects_for(runtime, {str(bad_lead)}) == []


async def test_an_erasure_that_keeps_failing_is_retried_until_handled_never_dead_lettered(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    flaky = uuid.uuid4()
    failures = {flaky: 6}  # twice the attempts after which anything else is dead-lettered
    group = await _consume(runtime, kafka_bootstrap, failures=failures)
    start = await end_offsets(kafka_bootstrap, [dlq_topic(TOPIC)])
    await stage(runtime, [flaky])
    await eventually(lambda: _count(runtime, {str(flaky)}, 1), timeout=30)
    assert failures[flaky] == 0  # it failed every time it was told to, then went through
    dead = await read_after(kafka_bootstrap, start, lambda m: False, timeout=2)
    assert [m for m in dead if _group(m) == group and _lead(m) == str(flaky)] == []
    assert runtime.stuck() is None


async def test_an_erased_leads_failing_event_is_dropped_not_dead_lettered(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    erased = uuid.uuid4()
    group = await _consume(runtime, kafka_bootstrap, poison={erased})
    async with runtime.transaction() as uow:  # this service erased the lead before
        await erase_from_log(uow, str(erased), [], second_after=60)
    start = await end_offsets(kafka_bootstrap, [dlq_topic(TOPIC)])
    producer = await runtime.producer.get()
    bad = Envelope(
        data=LeadOutcome(lead_id=erased, stage="won", occurred_at=datetime.now(UTC)), source="/t"
    )
    dropped = {"topic": TOPIC, "result": "dropped_erased"}
    before = REGISTRY.get_sample_value(CONSUMED, dropped) or 0.0
    await producer.send_and_wait(TOPIC, bad.value(), key=bad.key, headers=bad.headers())
    # The marker goes with the bad event's key: the same partition, behind it, so once the
    # marker is handled the bad event was handled first (another key may take another one).
    after = uuid.uuid4()
    marker = Envelope(data=LeadErased(lead_id=after, erased_at=datetime.now(UTC)), source="/t")
    await producer.send_and_wait(TOPIC, marker.value(), key=bad.key, headers=marker.headers())
    await eventually(lambda: _count(runtime, {str(after)}, 1))
    assert (REGISTRY.get_sample_value(CONSUMED, dropped) or 0.0) == before + 1
    dead = await read_after(kafka_bootstrap, start, lambda m: False, timeout=2)
    assert [m for m in dead if _group(m) == group and _lead(m) == str(erased)] == []


@pytest.mark.parametrize("mode", ["before_publish", "after_publish"])
async def test_a_process_killed_around_publishing_loses_and_duplicates_nothing(
    runtime: Runtime, kafka_bootstrap: str, database_url: str, mode: str
) -> None:
    await _consume(runtime, kafka_bootstrap)
    runtime.relay.stop()  # only the relay that restarts after the crash publishes
    leads = [str(uuid.uuid4()) for _ in range(10)]
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("kernel_app.py")),
            database_url,
            kafka_bootstrap,
            mode,
            ",".join(leads),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    assert await outbox_unsent(runtime) == 10  # committed, not marked sent
    rt2 = Runtime.build(runtime.settings)
    await rt2.start()  # the restarted process's relay
    try:
        await eventually(lambda: _count(runtime, set(leads), 10))
        await asyncio.sleep(1.0)
        got = await effects_for(runtime, set(leads))
        assert sorted(lid for lid, _ in got) == sorted(leads)
        assert await outbox_unsent(runtime) == 0
    finally:
        await rt2.stop()


async def _count(rt: Runtime, ids: set[str], n: int) -> bool:
    return len(await effects_for(rt, ids)) == n


def _group(msg: Any) -> str:
    return dict(msg.headers).get("dlq_consumer_group", b"").decode()


def _lead(msg: Any) -> str:
    """A dead letter's lead: its original key. The test's group reads the shared topic, so it
    also dead-letters what other tests (other workers) publish there on purpose."""
    return str(dict(msg.headers).get("dlq_original_key", b"").decode())


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_a_lingering_consumer_gathers_events_into_fewer_transactions(
    database_url: str, kafka_bootstrap: str, concurrency: int
) -> None:
    """A service off the lead's path (feedback) waits after a small poll: events that come
    one by one are handled a few polls at a time, each poll one transaction (also with
    polls handled concurrently, on PostgreSQL)."""
    settings = make_settings(
        database_url, kafka_bootstrap, consumer_linger_ms=400, consumer_concurrency=concurrency
    )
    rt = Runtime.build(settings)
    await create_tables(rt)
    try:
        group = await _consume(rt, kafka_bootstrap)
        leads = [uuid.uuid4() for _ in range(10)]
        for lead in leads:  # one event every 30 ms
            await stage(rt, [lead])
            await asyncio.sleep(0.03)
        ids = {str(x) for x in leads}
        await eventually(lambda: _count(rt, ids, 10))
        async with rt.sessions() as s:  # one inbox claim (one instant) per transaction
            instants = set(
                await s.scalars(
                    select(inbox_table.c.processed_at).where(inbox_table.c.consumer == group)
                )
            )
        assert 1 <= len(instants) <= 4, instants
    finally:
        await rt.stop()


async def _committed(bootstrap: str, group: str, start: dict[Any, int]) -> int:
    """How many messages past `start` the group has committed, over all partitions."""
    from aiokafka import AIOKafkaConsumer  # noqa: PLC0415

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        return sum([((await consumer.committed(tp)) or off) - off for tp, off in start.items()])
    finally:
        await consumer.stop()


async def test_offsets_are_committed_once_per_interval_and_at_a_stop(
    database_url: str, kafka_bootstrap: str
) -> None:
    """Within the interval handled events wait for one commit; a stop commits at once.

    On a topic of its own (a prefix): it counts committed offsets, and other tests (other
    test workers) publish on the shared topic meanwhile."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, [TOPIC], partitions=2, prefix=prefix)
    own = physical_topic(TOPIC, prefix)
    settings = make_settings(
        database_url, kafka_bootstrap, consumer_commit_interval_ms=60_000, kafka_topic_prefix=prefix
    )
    rt = Runtime.build(settings)
    await create_tables(rt)
    stopped = False
    try:
        start = await end_offsets(kafka_bootstrap, [own])
        group = await _consume(rt, kafka_bootstrap, topic=own)
        first, later = uuid.uuid4(), [uuid.uuid4() for _ in range(3)]
        await stage(rt, [first])
        await eventually(lambda: _count(rt, {str(first)}, 1))
        await eventually(lambda: _committed_is(kafka_bootstrap, group, start, 1))  # at once
        for lead in later:
            await stage(rt, [lead])
        await eventually(lambda: _count(rt, {str(x) for x in later}, 3))
        await asyncio.sleep(1.0)
        assert await _committed(kafka_bootstrap, group, start) == 1  # waits for the interval
        await rt.stop()
        stopped = True
        assert await _committed(kafka_bootstrap, group, start) == 4  # the stop committed
    finally:
        if not stopped:
            await rt.stop()
        await delete_prefixed(kafka_bootstrap, created, prefix)


async def _committed_is(bootstrap: str, group: str, start: dict[Any, int], n: int) -> bool:
    return await _committed(bootstrap, group, start) == n


async def test_concurrent_polls_overlap_on_disjoint_partitions_in_order_and_once(
    pg_url: str, kafka_bootstrap: str
) -> None:
    """With `consumer_concurrency=2` two polls are handled at once, never two holding the
    same partition number (so never two of one lead's events), each partition in order,
    every event once."""
    settings = make_settings(pg_url, kafka_bootstrap, consumer_concurrency=2, consumer_max_batch=4)
    rt = Runtime.build(settings)
    await create_tables(rt)
    active: list[int] = []  # partition numbers of the handlers running now
    overlaps: list[tuple[int, ...]] = []

    async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
        session = uow.session
        number = partition_for(env.key, range(6), range(6))
        assert number not in active, "two transactions hold one partition number"
        active.append(number)
        try:
            await asyncio.sleep(0.02)  # as if waiting for the database
            overlaps.append(tuple(active))
            await session.execute(
                insert(effects).values(lead_id=str(env.data.lead_id), ce_id=env.id)
            )
        finally:
            active.remove(number)

    try:
        group = f"kernel-test-{uuid.uuid4().hex[:8]}"
        await place_group_at_end(kafka_bootstrap, group, [TOPIC])
        leads = [uuid.uuid4() for _ in range(12)]
        await stage(rt, leads * 4)  # a backlog first: polls find other partitions waiting
        await rt.relay.publish_pending()
        rt.consume([TOPIC], {LeadErased: on_erased}, group=group)
        await rt.start()
        ids = {str(x) for x in leads}
        await eventually(lambda: _count(rt, ids, 48), timeout=30)
        got = await effects_for(rt, ids)
        assert len({ce for _, ce in got}) == 48
        assert max(len(a) for a in overlaps) == 2  # two at once, never more
        start = dict.fromkeys((await end_offsets(kafka_bootstrap, [TOPIC])), 0)
        msgs = await read_after(kafka_bootstrap, start, lambda m: False, timeout=2)
        for lead in ids:  # each lead's effects in the order its events were staged
            staged = [dict(m.headers)["ce_id"].decode() for m in msgs if m.key.decode() == lead]
            assert [ce for lid, ce in got if lid == lead] == staged
    finally:
        await rt.stop()


async def test_on_sqlite_polls_are_handled_one_at_a_time(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """SQLite has one connection per process: concurrent transactions would only queue."""
    url = f"sqlite+aiosqlite:///{tmp_path}/one.db"
    rt = Runtime.build(make_settings(url, kafka_bootstrap, consumer_concurrency=4))
    rt.consume([TOPIC], recording_handlers())
    assert [c._concurrency for c in rt.consumers] == [1]
    await rt.engine.dispose()


async def test_a_rebalance_waits_for_the_polls_holding_the_partitions_it_takes() -> None:
    consumer = EventConsumer(
        bootstrap="localhost:1",
        group="g",
        topics=[TOPIC],
        handlers={},
        sessions=None,  # type: ignore[arg-type]  # never used: no poll is handled here
        producer=None,  # type: ignore[arg-type]
        concurrency=2,
    )
    slow = asyncio.create_task(asyncio.sleep(0.2))
    consumer._inflight[slow] = _InFlight(frozenset({3}), {})
    await consumer.settle({TopicPartition(TOPIC, 5)})
    assert not slow.done()  # holds another partition: not waited for
    await consumer.settle({TopicPartition(TOPIC, 3), TopicPartition("leads.captured", 1)})
    assert slow.done()


async def test_concurrency_waits_for_a_backlog_so_a_light_load_still_gathers(
    pg_url: str, kafka_bootstrap: str
) -> None:
    """Events that come one by one while a poll is in flight wait for it and go together
    into the next poll's transaction, rather than each starting a transaction of its own."""
    rt = Runtime.build(
        make_settings(pg_url, kafka_bootstrap, consumer_concurrency=2, consumer_max_batch=50)
    )
    await create_tables(rt)
    running = 0
    most = 0

    async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
        session = uow.session
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.1)  # each poll is slow: later events arrive meanwhile
            await session.execute(
                insert(effects).values(lead_id=str(env.data.lead_id), ce_id=env.id)
            )
        finally:
            running -= 1

    try:
        group = f"kernel-test-{uuid.uuid4().hex[:8]}"
        await place_group_at_end(kafka_bootstrap, group, [TOPIC])
        rt.consume([TOPIC], {LeadErased: on_erased}, group=group)
        await rt.start()

        def joined() -> bool:  # the group gave it its partitions: events now come one by one
            consumer = rt.consumers[0]._consumer
            return consumer is not None and bool(consumer.assignment())

        await eventually(joined)  # rather than a fixed 4 s
        leads = [uuid.uuid4() for _ in range(12)]
        for lead in leads:  # one every 30 ms, over several partitions
            await stage(rt, [lead])
            await asyncio.sleep(0.03)
        ids = {str(x) for x in leads}
        await eventually(lambda: _count(rt, ids, 12), timeout=30)
        async with rt.sessions() as s:  # one inbox claim (one instant) per transaction
            instants = set(
                await s.scalars(
                    select(inbox_table.c.processed_at).where(inbox_table.c.consumer == group)
                )
            )
        assert most == 1
        assert len(instants) < 12, instants
    finally:
        await rt.stop()
