"""The lab page's routing experiments (SQLite and PostgreSQL, over HTTP): sales-assignment's
`io.leadflow.lab.experiment.reported.v1` reports are kept, the latest by `reported_at` per
experiment; the page shows each one's name, mode, status and since when, for a shadow the
share of decisions that would differ and per rep actual vs shadow (named as feedback knows
the rep, escaped), for a split its share, beside the arms' outcomes; they are purged with
the lab's simulations; and one report travels the real broker to the page."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from feedback_events import assigned, at, deliver
from lab_kit import login
from sqlalchemy import select

from feedback import lab_store
from feedback.models import LabExperiment
from leadflow import lab, lab_follower
from leadflow.events import RepRef
from leadflow.kafka import ensure_topics
from leadflow.service import Runtime
from support.kafka_tools import delete_prefixed, eventually

pytestmark = pytest.mark.postgres
ANN, BOB = uuid.UUID(int=11), uuid.UUID(int=12)
STARTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def shadow(experiment_id: uuid.UUID, minutes: int, **extra: Any) -> lab.ExperimentReported:
    """A shadow experiment's report `minutes` after its start: 8 decisions, 2 would differ."""
    doc: dict[str, Any] = {
        "experiment_id": experiment_id, "name": "bob <i>only</i>", "mode": "shadow",
        "share": None, "status": "running", "started_at": STARTED,
        "reported_at": STARTED + timedelta(minutes=minutes),
        "arms": {"control": {"decisions": 8, "leads": 8}, "variant": {"decisions": 0, "leads": 0}},
        "shadow": {"decisions": 8, "would_differ": 2, "queued_actual": 0, "queued_shadow": 1,
                   "per_rep": [{"rep_id": ANN, "actual": 5, "shadow": 3},
                               {"rep_id": BOB, "actual": 3, "shadow": 4}]},
    }  # fmt: skip
    return lab.ExperimentReported.model_validate(doc | extra)


async def _rows(rt: Runtime) -> list[LabExperiment]:
    async with rt.sessions() as s:
        return list(await s.scalars(select(LabExperiment)))


async def test_a_shadow_is_shown_with_its_would_differ_share_and_reps_escaped(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    ann = RepRef(rep_id=ANN, name="Ann <b>Rep</b>", email="ann@seller.example")
    assert await deliver(rt, assigned(uuid.uuid4(), ann, at(hours=1)))
    await login(client)
    assert "No routing experiment reported yet." in (await client.get("/lab")).text
    eid = uuid.uuid4()
    await lab_store.handle(rt, shadow(eid, 1))
    page = (await client.get("/lab")).text
    assert f'data-experiment-id="{eid}" data-status="running"' in page
    assert "<h3>bob &lt;i&gt;only&lt;/i&gt;</h3>" in page  # escaped
    assert "<i>only</i>" not in page
    assert "since 2026-03-02 09:00" in page
    assert "otherwise in <strong>25.0 %</strong> of 8 decisions (2)" in page
    assert "queued: 0 actually, 1 in the shadow" in page
    # Named as feedback knows the rep (escaped), else by id.
    assert (
        f'<tr data-rep-id="{ANN}"><th scope="row">Ann &lt;b&gt;Rep&lt;/b&gt;</th>'
        "<td>5</td><td>3</td><td>-2</td></tr>"
    ) in page
    assert f'<th scope="row">{BOB}</th><td>3</td><td>4</td><td>+1</td>' in page
    assert "<b>Rep</b>" not in page


async def test_the_latest_report_by_time_is_kept(client: httpx.AsyncClient, rt: Runtime) -> None:
    eid = uuid.uuid4()
    ended = STARTED + timedelta(minutes=30)
    await lab_store.handle(rt, shadow(eid, 30, status="ended", ended_at=ended))
    await lab_store.handle(rt, shadow(eid, 29))  # another replica's, older: ignored
    await lab_store.handle(rt, shadow(eid, 30, status="running"))  # the same time: ignored
    [row] = await _rows(rt)
    assert (row.status, row.ended_at, row.reported_at) == ("ended", ended, ended)
    later = shadow(eid, 31, status="ended", ended_at=ended, name="renamed")
    await lab_store.handle(rt, later)
    [row] = await _rows(rt)
    assert (row.name, row.reported_at) == ("renamed", STARTED + timedelta(minutes=31))
    await login(client)
    page = (await client.get("/lab")).text
    assert 'data-status="ended"' in page
    assert "until 2026-03-02 09:30" in page


async def test_a_split_shows_its_share_and_decisions_per_arm(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    arms = {"control": {"decisions": 7, "leads": 7}, "variant": {"decisions": 3, "leads": 3}}
    split = shadow(uuid.uuid4(), 5, name="half", mode="split", share=0.3, status="promoted",
                   ended_at=STARTED + timedelta(minutes=5), arms=arms, shadow=None)  # fmt: skip
    await lab_store.handle(rt, split)
    await login(client)
    page = (await client.get("/lab")).text
    assert 'data-status="promoted"' in page
    assert "(30.0 % of leads to the variant)" in page
    assert "Decisions: control 7, variant 3." in page
    assert 'id="experiments"' in page  # the arms' outcomes section stays


async def test_experiments_are_purged_with_the_lab_simulations(rt: Runtime) -> None:
    now = datetime.now(UTC)
    old, new = uuid.uuid4(), uuid.uuid4()
    for eid, days in ((old, 400), (new, 10)):
        at_ = now - timedelta(days=days)
        await lab_store.handle(rt, shadow(eid, 0, started_at=at_, reported_at=at_))
    assert await lab_store.purge(rt, 365) == 1
    assert [row.experiment_id for row in await _rows(rt)] == [new]


@pytest.fixture
async def prefix(kafka_bootstrap: str) -> AsyncIterator[str]:
    """A prefix of this test's own: its lab topic is deleted afterwards."""
    p = f"labx{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, [], with_dlq=False, prefix=p)
    yield p
    await delete_prefixed(kafka_bootstrap, created, p)


@pytest.mark.kafka
async def test_a_report_travels_the_broker_to_the_page(
    client: httpx.AsyncClient, rt: Runtime, kafka_bootstrap: str, prefix: str
) -> None:
    settings = rt.settings.model_copy(
        update={"kafka_bootstrap": kafka_bootstrap, "kafka_topic_prefix": prefix}
    )

    async def handle(message: lab.LabMessage) -> None:  # feedback's follower's handler
        await lab_store.handle(rt, message)

    types = {lab.EXPERIMENT_REPORTED}
    follower = asyncio.create_task(
        lab_follower.follow(settings, group=f"{prefix}feedback", types=types, handle=handle)
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    eid = uuid.uuid4()
    try:
        await lab.publish(producer, shadow(eid, 1), source="/sales-assignment", prefix=prefix)

        async def kept() -> bool:
            return len(await _rows(rt)) == 1

        await eventually(kept, timeout=30)
    finally:
        await producer.stop()
        follower.cancel()
        with pytest.raises(asyncio.CancelledError):
            await follower
    await login(client)
    assert f'data-experiment-id="{eid}"' in (await client.get("/lab")).text
