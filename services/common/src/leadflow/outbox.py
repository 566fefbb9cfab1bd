"""Outbox and inbox: state change and events commit together; consumers apply each event once.

`add_event` writes an event into the service's `outbox` table inside the caller's
transaction. `OutboxRelay` publishes committed rows in id order with the idempotent producer
and marks them sent; a crash between publish and mark re-publishes the same `ce_id`, which
the consumers' `inbox` table (one row per consumer group and `ce_id`) turns into a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka.errors import KafkaError
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from leadflow.db import NAMING, UtcDateTime, is_sqlite
from leadflow.events import Envelope
from leadflow.kafka import ProducerHolder
from leadflow.observability import OUTBOX_PENDING, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

kernel_metadata = MetaData(naming_convention=NAMING)

outbox_table = Table(
    "outbox",
    kernel_metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(200), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Index(
        "ix_outbox_unsent",
        "id",
        postgresql_where=text("sent_at IS NULL"),
        sqlite_where=text("sent_at IS NULL"),
    ),
)

inbox_table = Table(
    "inbox",
    kernel_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("processed_at", UtcDateTime(), nullable=False),
)

# One relay publishes at a time per database (PostgreSQL advisory lock), so one key's
# events keep their order even with several replicas.
_RELAY_LOCK_ID = 0x1EADF10


_STAGED = "leadflow.outbox.staged"


async def add_event(session: AsyncSession, envelope: Envelope) -> None:
    """Stage an event for publishing; it commits (or rolls back) with the caller's work.

    Staged rows are written in one statement just before the transaction commits, so a
    handler that emits several events pays one round trip, and ids follow commit order.
    """
    session.info.setdefault(_STAGED, []).append(
        {
            "event_id": envelope.id,
            "topic": envelope.topic,
            "key": envelope.key,
            "value": envelope.value(),
            "headers": [[k, v.decode()] for k, v in envelope.headers()],
            "created_at": datetime.now(UTC),
        }
    )


@event.listens_for(Session, "before_commit")
def _write_staged(session: Session) -> None:
    rows = session.info.pop(_STAGED, None)
    if rows:
        session.execute(insert(outbox_table), rows)


@event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


async def claim_inbox(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record that `consumer` handles `event_id` in this transaction; False if it already did."""
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    # A concurrent duplicate waits for the first transaction, then finds the row (PostgreSQL).
    result = await session.execute(
        ins(inbox_table)
        .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def claim_inbox_many(session: AsyncSession, consumer: str, event_ids: list[str]) -> set[str]:
    """Claim several events in one statement; returns the ids not handled before."""
    if not event_ids:
        return set()
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    now = datetime.now(UTC)
    result = await session.execute(
        ins(inbox_table)
        .values([{"consumer": consumer, "event_id": e, "processed_at": now} for e in event_ids])
        .on_conflict_do_nothing()
        .returning(inbox_table.c.event_id)
    )
    return set(result.scalars())


class OutboxRelay:
    """Publishes committed outbox rows in order and marks them sent."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: ProducerHolder,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._retention = retention
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sqlite = is_sqlite(str(engine.url))
        self.last_progress = datetime.now(UTC)

    def wake(self) -> None:
        """Publish now rather than at the next poll (call after a commit that added events)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped; survives Kafka and database outages by retrying."""
        backoff = self._poll
        last_cleanup = datetime.min.replace(tzinfo=UTC)
        while not self._stopping.is_set():
            self.last_progress = datetime.now(UTC)
            try:
                published = await self._publish_as_leader()
                backoff = self._poll
                now = datetime.now(UTC)
                if now - last_cleanup > timedelta(minutes=5):
                    await self._cleanup(now)
                    last_cleanup = now
                if published >= self._batch_size:
                    continue  # more waiting: no sleep
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Kafka or database away: keep the rows, try again
                log.warning("outbox relay: %s: %s", type(exc).__name__, exc)
                if isinstance(exc, KafkaError):
                    await self._producer.reset()
                backoff = min(backoff * 2, 10.0)
            await self._sleep(backoff)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _publish_as_leader(self) -> int:
        if self._sqlite:
            return await self.publish_pending()
        async with self._engine.connect() as conn:
            got = await conn.scalar(
                text("SELECT pg_try_advisory_lock(:id)"), {"id": _RELAY_LOCK_ID}
            )
            if not got:
                return 0
            try:
                return await self.publish_pending(conn)
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _RELAY_LOCK_ID})
                await conn.commit()

    async def publish_pending(self, conn: AsyncConnection | None = None) -> int:
        """Publish one batch of unsent rows in id order; return how many were sent."""
        rows = await self._read_batch(conn)
        OUTBOX_PENDING.set(len(rows))
        if not rows:
            return 0
        producer = await self._producer.get()
        futures = [
            await producer.send(
                row.topic,
                value=row.value,
                key=row.key,
                headers=[(k, v.encode()) for k, v in row.headers],
            )
            for row in rows
        ]
        await asyncio.gather(*futures)
        ids = [row.id for row in rows]
        await self._mark_sent(ids, conn)
        OUTBOX_PUBLISHED.inc(len(ids))
        return len(ids)

    async def _read_batch(self, conn: AsyncConnection | None) -> Sequence[Any]:
        stmt = (
            select(
                outbox_table.c.id,
                outbox_table.c.topic,
                outbox_table.c.key,
                outbox_table.c.value,
                outbox_table.c.headers,
            )
            .where(outbox_table.c.sent_at.is_(None))
            .order_by(outbox_table.c.id)
            .limit(self._batch_size)
        )
        if conn is not None:
            rows = (await conn.execute(stmt)).all()
            await conn.commit()
            return rows
        async with self._engine.connect() as c:
            return (await c.execute(stmt)).all()

    async def _mark_sent(self, ids: list[object], conn: AsyncConnection | None) -> None:
        stmt = (
            update(outbox_table).where(outbox_table.c.id.in_(ids)).values(sent_at=datetime.now(UTC))
        )
        if conn is not None:
            await conn.execute(stmt)
            await conn.commit()
            return
        async with self._engine.begin() as c:
            await c.execute(stmt)

    async def _cleanup(self, now: datetime) -> None:
        async with self._engine.begin() as c:
            await c.execute(
                delete(outbox_table).where(outbox_table.c.sent_at < now - self._retention)
            )
            await c.execute(
                delete(inbox_table).where(inbox_table.c.processed_at < now - timedelta(days=30))
            )
