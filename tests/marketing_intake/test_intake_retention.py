"""Idempotency keys are purged on a schedule past their TTL, on SQLite and PostgreSQL, with no
request to trigger it (before, only a replay meeting an expired key deleted anything)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Connection

from leadflow.db import create_engine
from marketing_intake.models import IdempotentResponse
from marketing_intake.retention import purge_idempotency
from support.apps import runtime
from support.intake import MakeApp
from support.kafka_tools import eventually


def _row(key: str, age: timedelta) -> dict[str, object]:
    created = datetime.now(UTC) - age
    return {
        "owner": "k",
        "key": key,
        "request_hash": "h",
        "status": 202,
        "body": {},
        "created_at": created,
    }


async def test_idempotency_keys_older_than_the_ttl_vanish_without_any_request(
    make_app: MakeApp,
) -> None:
    app = await make_app(
        idempotency_ttl_hours=24, idempotency_purge_seconds=0.05, idempotency_purge_batch=7
    )
    rt = runtime(app)
    old = [_row(f"old-{i}", timedelta(hours=25, minutes=i)) for i in range(20)]  # 3 batches
    fresh = [_row(f"new-{i}", timedelta(hours=23)) for i in range(3)]
    async with rt.transaction() as uow:
        s = uow.session
        await s.execute(insert(IdempotentResponse), old + fresh)
    (purge,) = [worker for name, worker in rt.workers if name == "idempotency-purge"]
    task = asyncio.create_task(purge())

    async def no_old_key() -> bool:
        return not any(k.startswith("old-") for k in await _keys(app))

    try:
        await eventually(no_old_key, timeout=10)
    finally:
        task.cancel()
    assert await _keys(app) == {f"new-{i}" for i in range(3)}
    assert not task.done() or task.cancelled()  # it keeps running, it did not die


async def test_one_pass_purges_every_batch_each_in_its_own_transaction(
    make_app: MakeApp,
) -> None:
    app = await make_app(idempotency_ttl_hours=24, idempotency_purge_batch=7)
    rt = runtime(app)
    old = [_row(f"old-{i}", timedelta(hours=25, minutes=i)) for i in range(21)]  # 3 full batches
    async with rt.transaction() as uow:
        s = uow.session
        await s.execute(insert(IdempotentResponse), [*old, _row("new", timedelta(hours=23))])
    commits = 0

    def counted(_: Connection) -> None:
        nonlocal commits
        commits += 1

    event.listen(rt.engine.sync_engine, "commit", counted)
    try:
        assert await purge_idempotency(rt) == 21
    finally:
        event.remove(rt.engine.sync_engine, "commit", counted)
    assert commits == 4  # three full batches, then one that finds none left
    assert await _count(app) == 1


async def test_a_failed_pass_is_retried_at_the_next_interval(
    make_app: MakeApp, tmp_path: Path
) -> None:
    app = await make_app(idempotency_purge_seconds=0.05)
    rt = runtime(app)
    (purge,) = [worker for name, worker in rt.workers if name == "idempotency-purge"]
    dead = create_engine(f"sqlite+aiosqlite:///{tmp_path}")  # a folder: cannot be opened
    rt.sessions.configure(bind=dead)
    task = asyncio.create_task(purge())

    async def purged() -> bool:
        return await _count(app) == 0

    try:
        await asyncio.sleep(0.3)  # several passes fail
        assert not task.done()
        rt.sessions.configure(bind=rt.engine)
        async with rt.transaction() as uow:
            s = uow.session
            await s.execute(insert(IdempotentResponse), [_row("old", timedelta(days=2))])
        await eventually(purged, timeout=10)
    finally:
        task.cancel()
        await dead.dispose()


async def _keys(app: FastAPI) -> set[str]:
    async with runtime(app).sessions() as s:
        return set(await s.scalars(select(IdempotentResponse.key)))


async def _count(app: FastAPI) -> int:
    async with runtime(app).sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(IdempotentResponse)) or 0)
