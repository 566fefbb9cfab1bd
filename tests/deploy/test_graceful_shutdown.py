"""SIGTERM to a consumer in the middle of a burst: it drains, commits and exits in time;
after a restart every event has been handled exactly once.

The broker is shared (other tests or a developer's stack may run a `lead-scoring` group that
scores the same leads), so effects are read from this process's own database — its inbox
(each handled ce_id) and outbox (each emitted event) — and checked against Kafka by ce_id.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from leadflow.events import Envelope, Lead, LeadCaptured, LeadErased, LeadOutcome, LeadScored
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after
from support.procs import Proc, service_proc

pytestmark = pytest.mark.kafka

BURST = 1500
# A healthy drain: uvicorn 20 s + consumer drain 20 s + flush 5 s. The chart's grace period
# covers the worst case, stuck tasks and slow closes included (75 s, test_chart_platform.py).
GRACE_SECONDS = 45.0


def scoring_proc(data: Path, bootstrap: str, group: str, run: int) -> Proc:
    """lead-scoring in `group`, apart from any other lead-scoring on the broker; none of the
    environment's own LEADFLOW_* settings."""
    plain = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    return service_proc(
        "lead-scoring", bootstrap, data, group=group, log=data / f"scoring-{run}.log",
        inherit=plain, LEADFLOW_CONSUMER_MAX_BATCH="50", LEADFLOW_RELAY_POLL_SECONDS="0.2",
    )  # fmt: skip


def captured(lead_id: uuid.UUID, i: int) -> Envelope:
    lead = Lead(
        lead_id=lead_id,
        email=f"person{i}.{lead_id.hex[:8]}@acme{i}.example.com",
        company=f"Acme {i}",
        job_title="VP Sales",
        captured_at=datetime.now(UTC),
    )
    return Envelope(data=LeadCaptured(lead_id=lead_id, lead=lead), source="/marketing-intake")


async def produce(bootstrap: str, envelopes: list[Envelope], per_second: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for i, env in enumerate(envelopes):
            await producer.send(env.topic, env.value(), key=env.key, headers=env.headers())
            if i % 50 == 49:
                await asyncio.sleep(50 / per_second)
        await producer.flush()
    finally:
        await producer.stop()


class Effects:
    """What the service did, read from its own SQLite database."""

    def __init__(self, db: Path, group: str, captured_ids: set[str], lead_ids: set[str]) -> None:
        self.db, self.group, self.captured_ids, self.lead_ids = db, group, captured_ids, lead_ids

    def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as conn:
            return conn.execute(sql, args).fetchall()

    def handled(self) -> set[str]:
        """ce_ids of our leads.captured events this consumer group handled (its inbox)."""
        rows = self._rows("SELECT event_id FROM inbox WHERE consumer = ?", self.group)
        return {r[0] for r in rows} & self.captured_ids

    def scored(self) -> list[tuple[str, str, Any]]:
        """(lead_id, ce_id, sent_at) of every leads.scored event it emitted for our leads."""
        rows = self._rows(
            "SELECT key, event_id, sent_at FROM outbox WHERE topic = ?", "leads.scored"
        )
        out = [(bytes(k).decode(), e, s) for k, e, s in rows]
        return [row for row in out if row[0] in self.lead_ids]


async def committed_of_ours(
    bootstrap: str, group: str, start: dict[TopicPartition, int], captured_ids: set[str]
) -> set[str]:
    """ce_ids of our leads.captured messages below the group's committed offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        upto = {tp: (await consumer.committed(tp)) or start[tp] for tp in start}
    finally:
        await consumer.stop()
    upto = {tp: off for tp, off in upto.items() if off > start[tp]}
    if not upto:
        return set()

    def reached(got: list[Any]) -> bool:
        last = {TopicPartition(m.topic, m.partition): m.offset for m in got}
        return all(last.get(tp, -1) >= off - 1 for tp, off in upto.items())

    messages = await read_after(bootstrap, {tp: start[tp] for tp in upto}, reached, timeout=30)
    ids = {
        dict(m.headers).get("ce_id", b"").decode()
        for m in messages
        if m.offset < upto[TopicPartition(m.topic, m.partition)]
    }
    return ids & captured_ids


async def test_sigterm_mid_burst_drains_commits_and_loses_nothing(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    group = f"graceful-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(
        kafka_bootstrap, group, [LeadCaptured.topic, LeadOutcome.topic, LeadErased.topic]
    )
    captured_start = await end_offsets(kafka_bootstrap, [LeadCaptured.topic])
    scored_start = await end_offsets(kafka_bootstrap, [LeadScored.topic])

    lead_ids = [uuid.uuid4() for _ in range(BURST)]
    envelopes = [captured(lead_id, i) for i, lead_id in enumerate(lead_ids)]
    effects = Effects(
        tmp_path / "lead-scoring.db",
        group,
        captured_ids={e.id for e in envelopes},
        lead_ids={str(i) for i in lead_ids},
    )

    first = scoring_proc(tmp_path, kafka_bootstrap, group, 1)
    first.start()
    await asyncio.to_thread(first.wait_ready)
    burst = asyncio.create_task(produce(kafka_bootstrap, envelopes, per_second=500))

    # Let it get going, then SIGTERM while events are still arriving and in flight.
    await eventually(lambda: len(effects.handled()) >= 100, timeout=60)
    assert not burst.done(), "the burst ended before SIGTERM; make it longer"
    started = time.monotonic()
    code = await asyncio.to_thread(first.terminate, GRACE_SECONDS + 15)
    elapsed = time.monotonic() - started
    log = first.log_tail(20_000)
    # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is the clean exit of a child
    # process (as PID 1 in a container the re-raised signal is ignored and it exits 0).
    assert code in (0, -signal.SIGTERM), (code, log)
    assert elapsed < GRACE_SECONDS, (elapsed, log)
    assert '"msg": "stopped"' in log, log

    # Mid-burst: some handled, not all. Everything handled was committed to Kafka (nothing
    # left for a redelivery), and every event it emitted was published before it exited.
    handled_first = effects.handled()
    assert 100 <= len(handled_first) < BURST, len(handled_first)
    committed = await committed_of_ours(
        kafka_bootstrap, group, captured_start, effects.captured_ids
    )
    assert committed == handled_first, (len(committed), len(handled_first))
    assert all(sent_at is not None for _, _, sent_at in effects.scored())

    await burst
    second = scoring_proc(tmp_path, kafka_bootstrap, group, 2)
    second.start()
    try:
        await asyncio.to_thread(second.wait_ready)
        await eventually(lambda: len(effects.handled()) == BURST, timeout=120)
        await eventually(
            lambda: all(sent_at is not None for _, _, sent_at in effects.scored()), timeout=30
        )
        await asyncio.sleep(1)  # a late duplicate would show up here
    finally:
        assert second.terminate(GRACE_SECONDS + 15) in (0, -signal.SIGTERM)

    # Exactly once: one leads.scored per lead, each of them on the topic.
    scored = effects.scored()
    per_lead = Counter(lead for lead, _, _ in scored)
    assert set(per_lead) == effects.lead_ids, f"lost: {len(effects.lead_ids - set(per_lead))}"
    assert {k: n for k, n in per_lead.items() if n != 1} == {}
    emitted = {ce_id for _, ce_id, _ in scored}
    seen: set[str] = set()
    read = 0

    def all_on_topic(got: list[Any]) -> bool:
        """Every emitted ce_id read; what came since the last look only (the shared topic
        also carries every other test's leads.scored, thousands of them)."""
        nonlocal read
        seen.update(dict(m.headers).get("ce_id", b"").decode() for m in got[read:])
        read = len(got)
        return emitted <= seen

    await read_after(kafka_bootstrap, scored_start, all_on_topic, timeout=60)  # fills `seen`
    assert emitted <= seen, f"not on the topic: {len(emitted - seen)}"
