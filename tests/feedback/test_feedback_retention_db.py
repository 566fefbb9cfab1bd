"""Retention: journey rows past the retention vanish on the service's schedule, no request;
the funnel's facts stay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from feedback_events import captured, deliver, lead
from sqlalchemy import func, select

from feedback.app import MIGRATIONS, build_app
from feedback.models import JourneyEvent, LeadFacts
from feedback.settings import FeedbackSettings
from leadflow.service import Runtime
from support.apps import build, dispose, runtime
from support.kafka_tools import eventually

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = await build(
        FeedbackSettings,
        build_app,
        MIGRATIONS,
        database_url,
        kafka_bootstrap="127.0.0.1:9",
        journey_retention_days=90,
        purge_interval_seconds=0.2,
    )
    yield app
    await dispose(app)


async def capture(rt: Runtime, age_days: float) -> uuid.UUID:
    lead_id = uuid.uuid4()
    assert await deliver(rt, captured(lead(lead_id, datetime.now(UTC) - timedelta(days=age_days))))
    return lead_id


async def journey_leads(rt: Runtime) -> set[uuid.UUID]:
    async with rt.sessions() as s:
        return set(await s.scalars(select(JourneyEvent.lead_id)))


async def test_old_journey_rows_vanish_on_schedule_and_the_facts_stay(app: FastAPI) -> None:
    rt = runtime(app)
    [purge] = [w for n, w in rt.workers if n == "retention"]
    recent = await capture(rt, 89)
    old = await capture(rt, 91)
    task = asyncio.create_task(purge())  # the runtime's background task; no request is made
    try:
        await eventually(_purged(rt, old), timeout=10)
        older = await capture(rt, 400)
        await eventually(_purged(rt, older), timeout=10)  # the next pass
    finally:
        task.cancel()
    assert await journey_leads(rt) == {recent}
    async with rt.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(LeadFacts)) == 3


def _purged(rt: Runtime, lead_id: uuid.UUID) -> Callable[[], Awaitable[bool]]:
    """Whether the lead's journey rows are gone (for `eventually`)."""

    async def check() -> bool:
        return lead_id not in await journey_leads(rt)

    return check
