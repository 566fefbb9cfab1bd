"""The what-if lab's channel (leadflow/lab.py) on the real broker: a deployment's own prefixed
topic, a round trip through the outbox and a follower that ignores what it does not know and
skips what it cannot read without stopping."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from kernel_app import create_tables, make_settings

from leadflow import lab, lab_follower
from leadflow.kafka import LAB_TOPIC, TOKENS_TOPIC, ensure_topics, physical_topic
from leadflow.service import Runtime
from support.kafka_tools import delete_prefixed, eventually
from support.lab_reports import one_report

pytestmark = pytest.mark.kafka


def test_the_lab_topic_is_a_deployments_own_and_the_tokens_topic_is_shared() -> None:
    assert physical_topic(LAB_TOPIC, "bench.") == "bench.leadflow.lab"
    assert physical_topic(LAB_TOPIC, "") == LAB_TOPIC
    assert physical_topic(TOKENS_TOPIC, "bench.") == TOKENS_TOPIC


def test_a_report_too_large_to_carry_loses_its_moved_leads_first() -> None:
    moved = [{"lead_id": str(uuid.uuid4()), "actual_rep_id": "x" * 900} for _ in range(500)]
    report = {"simulation_id": "s", "status": "done", "moved": moved, "moved_total": 500}
    small = lab.bounded_report(report)
    assert small["moved"] == []
    assert small["moved_truncated"] is True
    assert small["moved_total"] == 500
    huge = {**report, "per_rep": ["y" * 1_000_000]}
    assert lab.bounded_report(huge)["status"] == "failed"
    assert lab.bounded_report({"status": "done", "moved": []}) == {"status": "done", "moved": []}


@pytest.fixture
async def prefix(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A prefix of this test's own: its lab topic is deleted afterwards."""
    p = f"lab{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, [], with_dlq=False, prefix=p)
    assert p + LAB_TOPIC in created
    yield p
    await delete_prefixed(kafka_bootstrap, created, p)


def _request(kind: lab.Kind = "routing") -> lab.SimulationRequested:
    return lab.SimulationRequested(
        simulation_id=uuid.uuid4(),
        kind=kind,
        request={"from": "2026-03-01", "to": "2026-03-31", "rules": []},
        requested_by="analyst:tok_1",
        requested_at=datetime.now(UTC),
    )


async def test_a_follower_gets_its_types_ignores_unknown_ones_and_skips_malformed_records(
    kafka_bootstrap: str, prefix: str
) -> None:
    settings = make_settings("sqlite+aiosqlite://", kafka_bootstrap, kafka_topic_prefix=prefix)
    got: list[lab.LabMessage] = []

    async def handle(message: lab.LabMessage) -> None:
        got.append(message)

    follower = asyncio.create_task(
        lab_follower.follow(settings, group=f"{prefix}group", types={lab.REQUESTED}, handle=handle)
    )
    topic = prefix + LAB_TOPIC
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        first, second = _request(), _request("scoring")
        await lab.publish(producer, first, source="/test", prefix=prefix)
        key, value, headers = lab.encode(first, source="/test")
        unknown = [(k, b"io.leadflow.lab.simulation.cancelled.v1" if k == "ce_type" else v)
                   for k, v in headers]  # fmt: skip
        await producer.send_and_wait(topic, value=value, key=key, headers=unknown)
        await producer.send_and_wait(topic, value=b"{not json", key=key, headers=headers)
        await producer.send_and_wait(topic, value=value, key=key, headers=[])
        report = lab.reported(first.simulation_id, "routing", {"status": "done", "leads": 3})
        await lab.publish(producer, report, source="/test", prefix=prefix)  # not its type
        await lab.publish(producer, second, source="/test", prefix=prefix)
        # All six records read (the follower commits after each, skipped ones too): what it
        # handed over is then all it ever will, nothing else is on its way.
        await eventually(lambda: _is(kafka_bootstrap, f"{prefix}group", 6), timeout=30)
        assert got == [first, second]
        assert not follower.done()
    finally:
        await producer.stop()
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower


async def test_a_staged_report_goes_out_through_the_outbox_to_the_prefixed_topic(
    database_url: str, kafka_bootstrap: str, prefix: str
) -> None:
    settings = make_settings(database_url, kafka_bootstrap, kafka_topic_prefix=prefix)
    rt = Runtime.build(settings)
    await create_tables(rt)
    got: list[lab.LabMessage] = []

    async def handle(message: lab.LabMessage) -> None:
        got.append(message)

    follower = asyncio.create_task(
        lab_follower.follow(settings, group=f"{prefix}reports", types={lab.REPORTED}, handle=handle)
    )
    await rt.start()
    try:
        sid = uuid.uuid4()
        report = lab.reported(sid, "scoring", {"status": "failed", "error": "bad rules"})
        async with rt.transaction() as uow:
            lab.stage(uow, report, source=rt.source)
        await eventually(lambda: len(got) == 1, timeout=30)
        assert isinstance(got[0], lab.SimulationReported)
        assert got[0].simulation_id == sid
        assert got[0].status == "failed"
        assert got[0].report == {"status": "failed", "error": "bad rules"}
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await rt.stop()


async def _committed(kafka_bootstrap: str, group: str) -> int | None:
    """The offset `group` committed on the lab topic's one partition (None: none yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    found = [o.offset for tp, o in offsets.items() if tp.topic.endswith(LAB_TOPIC)]
    return found[0] if found and found[0] >= 0 else None


async def test_a_request_delivered_twice_is_handled_once_and_each_record_is_committed(
    kafka_bootstrap: str, prefix: str
) -> None:
    """The outbox may publish a request twice, a rebalance may deliver it again: the follower
    hands it over once; it commits each record it handled, not a whole batch at the end (a
    slow handler must not make a rebalance repeat the records it already did)."""
    settings = make_settings("sqlite+aiosqlite://", kafka_bootstrap, kafka_topic_prefix=prefix)
    group = f"{prefix}twice"
    got: list[lab.LabMessage] = []
    release = asyncio.Event()

    async def handle(message: lab.LabMessage) -> None:
        got.append(message)
        if len(got) == 2:
            await release.wait()  # a slow one: the records before it are committed already

    topic = prefix + LAB_TOPIC
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    first, second = _request(), _request("scoring")
    key, value, headers = lab.encode(first, source="/test")
    for _ in range(2):  # the same record twice, as a relay that crashed before marking it
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    await lab.publish(producer, first, source="/test", prefix=prefix)  # again, a new ce_id
    await lab.publish(producer, second, source="/test", prefix=prefix)
    follower = asyncio.create_task(
        lab_follower.follow(settings, group=group, types={lab.REQUESTED}, handle=handle)
    )
    try:
        await eventually(lambda: len(got) == 2, timeout=30)
        assert got == [first, second]
        await eventually(lambda: _committed(kafka_bootstrap, group), timeout=10)
        assert await _committed(kafka_bootstrap, group) == 3  # the first three records
        release.set()
        # Offset 4 committed: every record was handled, the repeat included (not run again).
        await eventually(lambda: _is(kafka_bootstrap, group, 4), timeout=10)
        assert got == [first, second]
    finally:
        release.set()
        await producer.stop()
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


async def _is(kafka_bootstrap: str, group: str, offset: int) -> bool:
    return await _committed(kafka_bootstrap, group) == offset


async def test_a_request_given_up_on_is_reported_failed_with_why(
    kafka_bootstrap: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose handler fails every attempt is not dropped silently: the requester
    gets a `failed` report saying which service gave up and why."""
    monkeypatch.setattr(lab_follower, "RETRY_SECONDS", 0.01)
    settings = make_settings("sqlite+aiosqlite://", kafka_bootstrap, kafka_topic_prefix=prefix)
    attempts: list[uuid.UUID] = []
    reports: list[lab.LabMessage] = []

    async def broken(message: lab.LabMessage) -> None:
        attempts.append(message.simulation_id)
        raise RuntimeError("database away")

    async def keep(message: lab.LabMessage) -> None:
        reports.append(message)

    followers = [
        asyncio.create_task(
            lab_follower.follow(
                settings, group=f"{prefix}runner", types={lab.REQUESTED}, handle=broken
            )
        ),
        asyncio.create_task(
            lab_follower.follow(settings, group=f"{prefix}page", types={lab.REPORTED}, handle=keep)
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        request = _request("scoring")
        report = await one_report(producer, request, reports, prefix=prefix)
        assert report.kind == "scoring"
        assert report.status == "failed"
        error = report.report["error"]
        assert error.startswith(f"{settings.service_name} gave up after 3 attempts")
        assert "RuntimeError" in error
        assert attempts == [request.simulation_id] * lab_follower.HANDLE_ATTEMPTS
    finally:
        await producer.stop()
        for follower in followers:
            follower.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
