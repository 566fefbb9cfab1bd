"""Outbox and inbox: state change and events commit together; consumers apply each event once.

A unit of work (`leadflow.uow`) writes a transaction's events into the service's `outbox`
table as it commits. `OutboxRelay` publishes committed rows in id order with the idempotent producer
and marks them sent — in the statement that reads the next batch (PostgreSQL), so a pass
costs one round trip to the database; a crash between publish and mark re-publishes the
same `ce_id`, which the consumers' `inbox` table (one row per consumer group and `ce_id`)
turns into a no-op.
The table stays the truth: the relay reads which rows are unsent, in id order, and takes the
contents of those this process committed from memory (handed over after the commit) rather
than reading them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

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
    bindparam,
    column,
    delete,
    func,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from leadflow.db import NAMING, UtcDateTime, dialect_insert, is_sqlite
from leadflow.events import LeadErased
from leadflow.kafka import ProducerHolder, physical_topic, send_in_batches
from leadflow.observability import OUTBOX_OLDEST_PENDING, OUTBOX_PENDING, OUTBOX_PUBLISHED
from leadflow.schedule import wait_or_timeout
from leadflow.sql import any_of, id_list, try_lock_session

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


class OutboxMessage(NamedTuple):
    """An outbox row as the producer sends it."""

    event_id: str
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


# Messages the relay keeps to publish without reading them back (see _Remembered).
_REMEMBER_BYTES = 16 * 1_048_576


def forget_statement(key: bytes) -> Any:
    """Erasure (`UnitOfWork.forget_lead`): empty the values of the outbox rows of the lead
    whose key is `key` (they hold the person's data), published or not.

    A row not published yet is marked sent: it never goes out. Rows are emptied, not
    deleted: the relay marks what it published by row id, and SQLite hands a deleted last
    id to the next row (which would then be marked sent unpublished); the relay's cleanup
    deletes them with the other sent rows. Kept: `leads.erased` records (every service
    must still hear of the erasure) and tombstones (empty values already).
    """
    return (
        update(outbox_table)
        .where(
            outbox_table.c.key == key,
            outbox_table.c.topic != LeadErased.topic,
            outbox_table.c.value != b"",  # a tombstone (published as a null value)
        )
        .values(value=b"", sent_at=func.coalesce(outbox_table.c.sent_at, datetime.now(UTC)))
        .execution_options(synchronize_session=False)
    )


async def claim_inbox(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record that `consumer` handles `event_id` in this transaction; False if it already did."""
    ins = dialect_insert(session)
    # A concurrent duplicate waits for the first transaction, then finds the row (PostgreSQL).
    result = await session.execute(
        ins(inbox_table)
        .values(consumer=consumer, event_id=event_id, processed_at=datetime.now(UTC))
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _claim_many(dialect: str) -> Any:
    """INSERT … SELECT over the ids passed as one parameter (an array on PostgreSQL, a JSON
    array on SQLite): one statement whose cost does not grow with the number of ids."""
    now = bindparam("now", type_=UtcDateTime())
    consumer = bindparam("consumer", type_=String())
    event_ids = id_list("ids", String())
    if dialect == "postgresql":
        ids: Any = select(consumer, func.unnest(event_ids), now)
        ins: Any = pg_insert(inbox_table)
    else:
        ids = (
            select(consumer, column("value"), now)
            .select_from(func.json_each(event_ids))
            .where(true())  # SQLite: an upsert's SELECT needs a WHERE (parsing ambiguity)
        )
        ins = sqlite_insert(inbox_table)
    return (
        ins.from_select(["consumer", "event_id", "processed_at"], ids)
        .on_conflict_do_nothing()
        .returning(inbox_table.c.event_id)
    )


_CLAIMS = {d: _claim_many(d) for d in ("postgresql", "sqlite")}


async def claim_inbox_many(session: AsyncSession, consumer: str, event_ids: list[str]) -> set[str]:
    """Claim several events in one statement; returns the ids not handled before."""
    if not event_ids:
        return set()
    params = {"consumer": consumer, "now": datetime.now(UTC), "ids": event_ids}
    result = await session.execute(_CLAIMS[session.get_bind().dialect.name], params)
    return set(result.scalars())


# The created_at of the first row is the oldest pending row's: the age gauge is read here.
_SELECT_UNSENT = (
    select(outbox_table.c.id, outbox_table.c.event_id, outbox_table.c.created_at)
    .where(outbox_table.c.sent_at.is_(None))
    .order_by(outbox_table.c.id)
    .limit(bindparam("limit"))
)
_MARK_SENT = (
    update(outbox_table).where(any_of(outbox_table.c.id, "ids")).values(sent_at=bindparam("now"))
)
# PostgreSQL: mark what the last pass published and read the next batch in one statement.
# The main query sees the table as it was before the CTE's update, hence the exclusion.
_MARKED = (
    update(outbox_table)
    .where(any_of(outbox_table.c.id, "sent"))
    .values(sent_at=bindparam("now"))
    .cte("marked")
)
_MARK_AND_SELECT_UNSENT_PG = (
    select(outbox_table.c.id, outbox_table.c.event_id, outbox_table.c.created_at)
    .add_cte(_MARKED)
    .where(
        outbox_table.c.sent_at.is_(None),
        ~any_of(outbox_table.c.id, "sent"),
    )
    .order_by(outbox_table.c.id)
    .limit(bindparam("limit"))
)
_SELECT_ROWS = select(
    outbox_table.c.id,
    outbox_table.c.event_id,
    outbox_table.c.topic,
    outbox_table.c.key,
    outbox_table.c.value,
    outbox_table.c.headers,
).where(any_of(outbox_table.c.id, "ids"))


class _Remembered:
    """Messages this process committed and the relay has not published yet, by event id,
    oldest first, up to `max_bytes` of values (beyond that, Kafka has been away for long:
    the oldest are forgotten and read back from the table when their turn comes)."""

    def __init__(self, max_bytes: int) -> None:
        self._messages: OrderedDict[str, tuple[int, OutboxMessage]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self.handed_over = 0  # how many hand-overs so far: orders them

    def __len__(self) -> int:
        return len(self._messages)

    def add(self, messages: list[OutboxMessage]) -> None:
        self.handed_over += 1
        for m in messages:
            self._messages[m.event_id] = (self.handed_over, m)
            self._bytes += len(m.value)
        while self._bytes > self._max_bytes:
            self._bytes -= len(self._messages.popitem(last=False)[1][1].value)

    def get(self, event_id: str) -> OutboxMessage | None:
        found = self._messages.get(event_id)
        return found[1] if found is not None else None

    def discard(self, event_id: str) -> None:
        found = self._messages.pop(event_id, None)
        if found is not None:
            self._bytes -= len(found[1].value)

    def forget_sent(self, unsent: set[str], handed_over: int) -> None:
        """After a read that saw every unsent row: what was handed over by then and is not
        among them was sent meanwhile (by another relay)."""
        for event_id, (order, _) in list(self._messages.items()):
            if order > handed_over:
                break
            if event_id not in unsent:
                self.discard(event_id)


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
        topic_prefix: str = "",
    ) -> None:
        self._engine = engine
        self._prefix = topic_prefix  # rows keep the contract's names; see physical_topic
        self._producer = producer
        self._batch_size = batch_size
        self._poll = poll_seconds
        self._retention = retention
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._sqlite = is_sqlite(str(engine.url))
        # When the pass in hand began (monotonic), None between passes; and whether the
        # last read found rows: together they say whether the relay is stuck (`stuck_for`).
        self._pass_started: float | None = None
        self._saw_rows = False
        # What this process committed: publishing it needs only its ids from the table.
        self._known = _Remembered(max_bytes=_REMEMBER_BYTES)
        self._leader: AsyncConnection | None = None  # holds the relay lock (PostgreSQL)
        self._unmarked: list[int] = []  # published by the last pass, marked by the next

    def remember(self, messages: list[OutboxMessage]) -> None:
        """Rows just committed through this relay's engine (`UnitOfWork.commit`)."""
        self._known.add(messages)

    def wake(self) -> None:
        """Publish now rather than at the next poll (call after a commit that added events)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def rearm(self) -> None:
        """Let `run` publish again after a stop (a runtime started anew in one process)."""
        self._stopping.clear()

    def stuck_for(self, seconds: float) -> str | None:
        """Why liveness should fail: a pass running over `seconds` while rows wait, or None.

        A pass that fails (Kafka or the database away) ends and the loop retries: waiting
        out an outage is not stuck. A pass that never ends (a vanished primary past every
        timeout) is."""
        started = self._pass_started
        if started is None or self._stopping.is_set():
            return None
        waiting = self._saw_rows or bool(self._unmarked) or len(self._known) > 0
        if waiting and time.monotonic() - started > seconds:
            return f"outbox relay made no progress for {seconds:g} s with events waiting"
        return None

    async def run(self) -> None:
        """Publish until stopped; survives Kafka and database outages by retrying."""
        try:
            await self._run()
        finally:
            await self._resign()

    async def _run(self) -> None:
        backoff = self._poll
        last_cleanup = datetime.min.replace(tzinfo=UTC)
        while not self._stopping.is_set():
            self._pass_started = time.monotonic()
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
            self._pass_started = None
            await self._sleep(backoff)

    async def _sleep(self, seconds: float) -> None:
        await wait_or_timeout(self._wake, seconds)
        self._wake.clear()

    async def _publish_as_leader(self) -> int:
        if self._sqlite:
            return await self._pass(None)
        conn = await self._lead()
        if conn is None:
            return 0  # another replica's relay publishes
        try:
            return await self._pass(conn)
        except BaseException:
            await self._resign()
            raise

    async def _lead(self) -> AsyncConnection | None:
        """The connection that holds the relay lock, kept from pass to pass (a pass then
        costs only its own statements); None while another replica's relay holds it.

        The lock is PostgreSQL's session-level advisory lock: it goes with the connection,
        so a relay that dies or loses its connection lets another take over.
        """
        if self._leader is not None:
            return self._leader
        conn = await self._engine.connect()
        try:
            # Each statement its own transaction: a pass reads, then marks what it sent,
            # without BEGIN and COMMIT round trips around either.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await try_lock_session(conn, _RELAY_LOCK_ID)
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            OUTBOX_OLDEST_PENDING.set(0)  # the leader reports it
            return None
        self._leader = conn
        return conn

    async def _resign(self) -> None:
        """Give up the relay lock: the connection is closed for good rather than pooled
        (a pooled connection would keep holding the lock)."""
        conn, self._leader = self._leader, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def publish_pending(self, conn: AsyncConnection | None = None) -> int:
        """Publish one batch of unsent rows in id order and mark them sent; how many."""
        published = await self._pass(conn)
        if self._unmarked:
            await self._mark_sent(self._unmarked, conn)
            self._unmarked = []
        return published

    async def _pass(self, conn: AsyncConnection | None) -> int:
        """Mark what the last pass published, publish the next batch (the next pass, or
        `publish_pending`, marks it); how many were published."""
        rows = await self._read_batch(conn)
        self._saw_rows = bool(rows)
        OUTBOX_PENDING.set(len(rows))
        if not rows:
            return 0
        producer = await self._producer.get()
        # An empty value is a tombstone (erasure_log.py): published as a null value.
        sent = await send_in_batches(
            producer,
            [
                (physical_topic(m.topic, self._prefix), m.key, m.value or None, m.headers)
                for _, m in rows
            ],
        )
        await asyncio.gather(*sent)
        self._unmarked = [row_id for row_id, _ in rows]
        for _, m in rows:
            self._known.discard(m.event_id)
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def _read_batch(self, conn: AsyncConnection | None) -> list[tuple[int, OutboxMessage]]:
        """The first unsent rows in id order: their ids from the table, their contents from
        what this process handed over, or else from the table too. What the last pass
        published is marked sent first (PostgreSQL: in the same statement)."""
        handed_over = self._known.handed_over
        marks, self._unmarked = self._unmarked, []
        try:
            if conn is not None:
                found = await self._read_unsent(conn, handed_over, marks)
                await conn.commit()
                return found
            if marks:
                await self._mark_sent(marks, None)
            async with self._engine.connect() as c:
                return await self._read_unsent(c, handed_over, [])
        except BaseException:
            self._unmarked = marks + self._unmarked  # not marked: the next pass tries again
            raise

    async def _read_unsent(
        self, conn: AsyncConnection, handed_over: int, marks: list[int]
    ) -> list[tuple[int, OutboxMessage]]:
        if marks:
            params = {"limit": self._batch_size, "sent": marks, "now": datetime.now(UTC)}
            unsent = (await conn.execute(_MARK_AND_SELECT_UNSENT_PG, params)).all()
        else:
            unsent = (await conn.execute(_SELECT_UNSENT, {"limit": self._batch_size})).all()
        found: dict[int, OutboxMessage] = {}
        missing: list[int] = []
        for row_id, event_id, _ in unsent:
            m = self._known.get(event_id)
            if m is None:
                missing.append(row_id)
            else:
                found[row_id] = m
        if missing:
            for row in await conn.execute(_SELECT_ROWS, {"ids": missing}):
                headers = [(k, v.encode()) for k, v in row.headers]
                found[row.id] = OutboxMessage(row.event_id, row.topic, row.key, row.value, headers)
        if len(unsent) < self._batch_size:
            self._known.forget_sent({event_id for _, event_id, _ in unsent}, handed_over)
        batch: list[tuple[int, OutboxMessage]] = []
        for row_id, _, _ in unsent:
            if row_id not in found:
                break  # gone meanwhile (sent by another relay): stop here, keep the order
            batch.append((row_id, found[row_id]))
        # Read before publishing, so that the age keeps growing while Kafka is away.
        age = (datetime.now(UTC) - unsent[0].created_at).total_seconds() if batch else 0.0
        OUTBOX_OLDEST_PENDING.set(max(0.0, age))
        return batch

    async def _mark_sent(self, ids: list[int], conn: AsyncConnection | None) -> None:
        params = {"ids": ids, "now": datetime.now(UTC)}
        if conn is not None:
            await conn.execute(_MARK_SENT, params)
            await conn.commit()
            return
        async with self._engine.begin() as c:
            await c.execute(_MARK_SENT, params)

    async def _cleanup(self, now: datetime) -> None:
        async with self._engine.begin() as c:
            await c.execute(
                delete(outbox_table).where(outbox_table.c.sent_at < now - self._retention)
            )
            await c.execute(
                delete(inbox_table).where(inbox_table.c.processed_at < now - timedelta(days=30))
            )
