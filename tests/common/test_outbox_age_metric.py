"""`/metrics` says how long the oldest unsent outbox row has waited (an alert's input): it
grows while Kafka is away and falls to 0 once the relay has published."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from kernel_app import create_tables, make_settings, outbox_unsent, stage
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from leadflow.http import health_router
from leadflow.kafka import ProducerHolder
from leadflow.outbox import OutboxRelay, outbox_table
from leadflow.service import Runtime
from support.infra import closed_port

NAME = "leadflow_outbox_oldest_pending_seconds"


@pytest.fixture
async def rt(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Runtime]:
    r = Runtime.build(make_settings(database_url, kafka_bootstrap))
    await create_tables(r)
    yield r
    await r.stop()


async def scraped(http: AsyncClient) -> float:
    """The gauge's value as Prometheus reads it from `/metrics`."""
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == NAME:
                return float(sample.value)
    raise AssertionError(f"{NAME} is not on /metrics")


@pytest.mark.kafka
async def test_oldest_pending_age_grows_while_kafka_is_away_and_is_zero_once_published(
    rt: Runtime,
) -> None:
    app = FastAPI()
    app.include_router(health_router({}))
    http = AsyncClient(transport=ASGITransport(app=app), base_url="http://t")
    await stage(rt, [uuid.uuid4(), uuid.uuid4()])
    async with rt.engine.begin() as conn:  # committed two minutes ago
        await conn.execute(
            update(outbox_table).values(created_at=datetime.now(UTC) - timedelta(seconds=120))
        )
    away = ProducerHolder(f"127.0.0.1:{closed_port()}", client_id="t", options={})
    stalled = OutboxRelay(rt.engine, away)
    with pytest.raises(KafkaError):  # no broker answers: the pass fails
        await stalled.publish_pending()
    assert 120 <= await scraped(http) < 180
    assert await outbox_unsent(rt) == 2

    relay = OutboxRelay(rt.engine, rt.producer)
    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 0
    assert await scraped(http) == 0
    await http.aclose()
    await away.stop()
