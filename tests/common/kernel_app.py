"""A minimal service on the kernel, used by the kernel's own tests (in process and as a child)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from leadflow.bus import Handlers
from leadflow.events import Envelope, LeadErased, LeadOutcome
from leadflow.outbox import OutboxRelay, kernel_metadata, outbox_table
from leadflow.service import Runtime
from leadflow.settings import Settings
from leadflow.uow import UnitOfWork

test_metadata = MetaData()
effects = Table(
    "effects",
    test_metadata,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("lead_id", String(36), nullable=False),
    Column("ce_id", String(64), nullable=False),
)


class KernelTestSettings(Settings):
    service_name = "kernel-test"


def make_settings(database_url: str, bootstrap: str, **kw: Any) -> KernelTestSettings:
    return KernelTestSettings(
        admin_token="dev-test",  # type: ignore[arg-type]
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        consumer_max_attempts=3,
        consumer_retry_backoff_seconds=0.01,
        relay_poll_seconds=0.05,
        **kw,
    )


async def create_tables(runtime: Runtime) -> None:
    async with runtime.engine.begin() as conn:
        await conn.run_sync(kernel_metadata.create_all)
        await conn.run_sync(test_metadata.create_all)


def recording_handlers(
    poison: set[uuid.UUID] | None = None, failures: dict[uuid.UUID, int] | None = None
) -> Handlers:
    """Handlers that record each effect; leads in `poison` always fail, those in `failures`
    fail that many times first."""

    async def record(uow: UnitOfWork, env: Envelope) -> None:
        session = uow.session
        if poison and env.data.lead_id in poison:
            raise RuntimeError("this lead always fails")
        if failures and failures.get(env.data.lead_id, 0) > 0:
            failures[env.data.lead_id] -= 1
            raise RuntimeError("this lead fails a few times")
        await session.execute(insert(effects).values(lead_id=str(env.data.lead_id), ce_id=env.id))

    return {LeadErased: record, LeadOutcome: record}


async def effects_for(runtime: Runtime, lead_ids: set[str]) -> list[tuple[str, str]]:
    async with runtime.sessions() as s:
        rows = await s.execute(
            select(effects.c.lead_id, effects.c.ce_id)
            .where(effects.c.lead_id.in_(lead_ids))
            .order_by(effects.c.n)
        )
        return [(r[0], r[1]) for r in rows]


async def outbox_unsent(runtime: Runtime) -> int:
    async with runtime.sessions() as s:
        n = await s.scalar(
            select(func.count()).select_from(outbox_table).where(outbox_table.c.sent_at.is_(None))
        )
        return int(n or 0)


async def stage(runtime: Runtime, lead_ids: list[uuid.UUID]) -> None:
    for lead_id in lead_ids:
        async with runtime.transaction() as uow:
            uow.emit(LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC)))


class _KillBeforeMark(OutboxRelay):
    async def _mark_sent(self, ids: list[object], conn: Any) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


async def child(database_url: str, bootstrap: str, mode: str, lead_ids: list[str]) -> None:
    """Stage events, then die by SIGKILL before publishing or between publish and mark."""
    runtime = Runtime.build(make_settings(database_url, bootstrap))
    await stage(runtime, [uuid.UUID(x) for x in lead_ids])
    if mode == "before_publish":
        os.kill(os.getpid(), signal.SIGKILL)
    relay = _KillBeforeMark(runtime.engine, runtime.producer)
    await relay.publish_pending()
    raise AssertionError("the relay should have been killed")


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")))
