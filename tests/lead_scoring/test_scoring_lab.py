"""lead-scoring answers the scoring simulations requested on `leadflow.lab` (the dashboard's
lab page) as `POST /v1/scoring/simulations` answers them: through its handler on SQLite and
PostgreSQL, and once end to end on the real broker with the app's own lab follower."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from test_scoring_simulations import PATH, history, window

from lead_scoring import lab as scoring_lab
from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from leadflow import lab, lab_follower
from leadflow.kafka import ensure_topics
from leadflow.outbox import outbox_table
from support.apps import ADMIN, build, client, dispose, runtime
from support.kafka_tools import delete_prefixed
from support.lab_reports import one_report


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url, min_verdicts=2)
    yield a
    await dispose(a)


def requested(body: dict[str, Any], **kw: Any) -> lab.SimulationRequested:
    fields = {"simulation_id": uuid.uuid4(), "kind": "scoring", "request": body,
              "requested_by": "analyst:tok", "requested_at": datetime.now(UTC)} | kw  # fmt: skip
    return lab.SimulationRequested.model_validate(fields)


async def test_a_requested_simulation_is_reported_as_the_api_answers_it(app: FastAPI) -> None:
    await history(app)
    body = window(threshold=45)
    async with client(app) as http:
        api = await http.post(PATH, json=body, headers=ADMIN)
    assert api.status_code == 200, api.text
    message = requested(body)
    await scoring_lab.answer(app.state.simulator, message)
    async with runtime(app).sessions() as s:
        rows = (await s.execute(outbox_table.select())).all()
    [row] = [r for r in rows if r.topic == "leadflow.lab"]
    report = lab.decode(row.value, [(k, v.encode()) for k, v in row.headers])
    assert isinstance(report, lab.SimulationReported)
    assert report.simulation_id == message.simulation_id
    assert report.status == "done"
    assert report.report == {"status": "done", **api.json()}


async def test_a_wrong_request_expired_one_or_bad_draft_is_reported_failed(app: FastAPI) -> None:
    sim = app.state.simulator
    start = datetime.now(UTC).isoformat()
    wrong = await scoring_lab.run(sim, requested({"from": start, "to": "2020-01-01T00:00:00Z"}))
    assert wrong.status == "failed"
    assert wrong.report["errors"] == [
        {"field": "to", "message": "Value error, must not be before from"}
    ]
    draft = window(rules={"threshold": 60, "rules": [{"when": {}, "points": "many"}]})
    bad = await scoring_lab.run(sim, requested(draft))
    assert bad.status == "failed"
    assert bad.report["error"] == "invalid draft rules"
    assert all(e["field"].startswith("rules") for e in bad.report["errors"])
    old = requested(window(), requested_at=datetime.now(UTC) - timedelta(hours=2))
    expired = await scoring_lab.run(sim, old)
    assert expired.status == "failed"
    assert expired.report["error"].startswith("expired")


@pytest.mark.kafka
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_apps_follower_answers_a_request_on_the_broker(
    database_url: str, kafka_bootstrap: str
) -> None:
    prefix = f"sl{uuid.uuid4().hex[:8]}."
    created = await ensure_topics(kafka_bootstrap, prefix=prefix, partitions=1)
    app = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                      kafka_bootstrap=kafka_bootstrap, kafka_topic_prefix=prefix,
                      consumer_group=f"{prefix}scoring", relay_poll_seconds=0.05)  # fmt: skip
    got: list[lab.LabMessage] = []

    async def keep(message: lab.LabMessage) -> None:
        got.append(message)

    settings = runtime(app).settings
    reports = asyncio.create_task(
        lab_follower.follow(settings, group=f"{prefix}dashboard", types={lab.REPORTED}, handle=keep)
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await runtime(app).start()
    await producer.start()
    try:
        message = requested(window())
        report = await one_report(
            producer, message, got, prefix=prefix, source="/feedback", timeout=60
        )
        assert report.status == "done"
        assert report.report["leads"] == 0
    finally:
        await producer.stop()
        reports.cancel()
        await asyncio.gather(reports, return_exceptions=True)
        await runtime(app).stop()
        await dispose(app)
        await delete_prefixed(kafka_bootstrap, created, prefix)
