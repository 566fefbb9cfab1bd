"""A malformed event is dead-lettered once and the consumer goes on (real broker, both DBs)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kernel_app import effects_for, recording_handlers, stage

from leadflow.events import Envelope, LeadErased, dlq_topic
from leadflow.service import Runtime
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after

pytestmark = pytest.mark.kafka

TOPIC = LeadErased.topic


def _with(env: Envelope, **changed: bytes) -> list[tuple[str, bytes]]:
    return [(k, changed.get(k, v)) for k, v in env.headers()]


async def test_an_event_whose_time_has_no_utc_offset_is_dead_lettered_once_and_the_loop_goes_on(
    runtime: Runtime, kafka_bootstrap: str
) -> None:
    group = f"kernel-test-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, [TOPIC])
    runtime.consume([TOPIC], recording_handlers(), group=group)
    start = await end_offsets(kafka_bootstrap, [dlq_topic(TOPIC)])
    producer = await runtime.producer.get()
    naive = Envelope(
        data=LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)), source="/t"
    )
    good = Envelope(
        data=LeadErased(lead_id=naive.data.lead_id, erased_at=datetime.now(UTC)), source="/t"
    )
    # Same key, so one poll holds both: the batch path and the one-by-one path both see it.
    await producer.send_and_wait(
        TOPIC, naive.value(), key=naive.key, headers=_with(naive, ce_time=b"2026-01-02T03:04:05")
    )
    await producer.send_and_wait(TOPIC, good.value(), key=good.key, headers=good.headers())
    await runtime.start()
    after = uuid.uuid4()
    await stage(runtime, [after])
    await eventually(lambda: _handled(runtime, {str(after)}))
    await asyncio.sleep(1.5)  # a crash-looping consumer would dead-letter it again meanwhile
    dead = await read_after(kafka_bootstrap, start, lambda m: False, timeout=2)
    # Other tests put malformed events on the shared topic meanwhile, which this group reads
    # too: only the dead letters of this test's key are its own (a dead letter has a key of
    # its own, erasure_log.py; the original's is a header).
    ours = [m for m in dead if _group(m) == group and _header(m, "dlq_original_key") == naive.key]
    assert len(ours) == 1
    headers = dict(ours[0].headers)
    assert headers["ce_id"] == naive.id.encode()
    assert headers["dlq_error_type"] == b"MalformedEvent"
    assert b"ce_time" in headers["dlq_error_message"]
    got = await effects_for(runtime, {str(naive.data.lead_id)})
    assert [ce for _, ce in got] == [good.id]
    assert runtime.stuck() is None  # the consumer task is alive


async def _handled(rt: Runtime, ids: set[str]) -> bool:
    return len(await effects_for(rt, ids)) == len(ids)


def _group(msg: Any) -> str:
    return _header(msg, "dlq_consumer_group").decode()


def _header(msg: Any, name: str) -> bytes:
    return bytes(dict(msg.headers).get(name, b""))
