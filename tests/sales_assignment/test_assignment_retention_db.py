"""Retention: old webhook deliveries vanish on the service's own schedule, with no request."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.service import Runtime
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.models import DeliveryRow
from sales_assignment.settings import AssignmentSettings
from support.apps import build, dispose, runtime
from support.kafka_tools import eventually

pytestmark = pytest.mark.postgres


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = await build(
        AssignmentSettings,
        build_app,
        MIGRATIONS,
        database_url,
        webhook_delivery_retention_days=30,
        purge_interval_seconds=0.2,
    )
    yield app
    await dispose(app)


async def add(rt: Runtime, status: str, age_days: float) -> str:
    made = datetime.now(UTC) - timedelta(days=age_days)
    row = DeliveryRow(
        id=f"msg_{uuid.uuid4().hex}",
        endpoint_id=uuid.uuid4(),
        lead_id=uuid.uuid4(),
        seq=1,
        event_type="lead.assigned",
        body=b"{}",
        status=status,
        attempts=1,
        next_attempt_at=made,
        created_at=made,
    )
    async with rt.transaction() as uow:
        s = uow.session
        s.add(row)
    return row.id


async def stored(rt: Runtime) -> set[str]:
    async with rt.sessions() as s:
        return set(await s.scalars(select(DeliveryRow.id)))


async def test_finished_deliveries_past_the_retention_vanish_on_schedule(app: FastAPI) -> None:
    rt = runtime(app)
    [(_, purge)] = [(n, w) for n, w in rt.workers if n == "retention"]
    kept = {await add(rt, "delivered", 29), await add(rt, "pending", 45)}
    first = {await add(rt, "delivered", 31), await add(rt, "dead", 40)}
    task = asyncio.create_task(purge())  # the runtime's background task; no request is made
    try:
        await eventually(_purged(rt, first), timeout=10)
        later = {await add(rt, "failed", 60), await add(rt, "delivered", 90)}
        await eventually(_purged(rt, later), timeout=10)  # the next pass
    finally:
        task.cancel()
    assert await stored(rt) == kept


def _purged(rt: Runtime, ids: set[str]) -> Callable[[], Awaitable[bool]]:
    """Whether none of these deliveries is stored any more (for `eventually`)."""

    async def check() -> bool:
        return not await stored(rt) & ids

    return check
