"""/healthz learns of an outbox relay stuck with events waiting (issue 19 #9)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from kernel_app import create_tables, make_settings, outbox_unsent, stage
from sqlalchemy import text

from leadflow.db import create_engine
from leadflow.http import health_router
from leadflow.service import Runtime
from support.kafka_tools import eventually

pytestmark = pytest.mark.postgres


async def test_a_relay_blocked_with_events_waiting_is_reported_stuck_until_it_moves(
    pg_url: str, kafka_bootstrap: str
) -> None:
    rt = Runtime.build(
        make_settings(
            pg_url, kafka_bootstrap, relay_stuck_after_seconds=1.0, db_command_timeout_seconds=60
        )
    )
    await create_tables(rt)
    app = FastAPI()
    app.include_router(health_router({}, liveness=rt.stuck))
    http = AsyncClient(transport=ASGITransport(app=app), base_url="http://t")
    await stage(rt, [uuid.uuid4(), uuid.uuid4()])  # committed, not yet published
    blocker = create_engine(pg_url)
    try:
        async with blocker.connect() as conn, conn.begin():
            # Another session holds the outbox: the relay's read waits, as on a primary
            # that vanished without a word.
            await conn.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()  # before start: the relay may begin before it returns
            await rt.start()
            await eventually(lambda: rt.stuck() is not None, timeout=10)
            assert time.monotonic() - started >= 1.0
            assert "outbox relay" in (rt.stuck() or "")
            answer = await http.get("/healthz")
            assert answer.status_code == 503
            assert "outbox relay" in answer.json()["detail"]
        await eventually(lambda: _published(rt), timeout=15)
        assert rt.stuck() is None
        assert (await http.get("/healthz")).status_code == 200
    finally:
        await http.aclose()
        await rt.stop()
        await blocker.dispose()


async def test_an_idle_relay_is_not_stuck(pg_url: str, kafka_bootstrap: str) -> None:
    rt = Runtime.build(make_settings(pg_url, kafka_bootstrap, relay_stuck_after_seconds=0.2))
    await create_tables(rt)
    await rt.start()
    try:
        await asyncio.sleep(1.0)  # passes find nothing waiting
        assert rt.stuck() is None
    finally:
        await rt.stop()


async def _published(rt: Runtime) -> bool:
    return await outbox_unsent(rt) == 0
