"""Erasure on the event log: tombstones for an erased lead on the topics a service produces
and on the dead letters it wrote, then a second tombstone once the segment time has passed.

Why (docs/architecture.md, "Erasure on the event log"): the topics that carry a person's
data and the DLQs are compacted (topic_config.py); a tombstone (the key, a null value)
removes the older records of its key once their segment is closed and cleaned. Kafka
closes a segment only when a record is appended after `segment.ms`, and a quiet partition
may get none for days: the second tombstone is that record. It holds nothing either, so the
consumers skip it like the first.

Every dead letter has a key of its own (the lead's key, the consumer group and the original
position), so that compaction never merges two dead letters; the consumer that writes one
records its key here first (a crash in between leaves a key with no record: its tombstone
is harmless), and the service's `leads.erased` handler tombstones the keys recorded for the
lead. Tombstones go through the outbox, after the service's own erasure in the same
transaction: published after anything it emitted for the lead before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Index, String, Table, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from leadflow.db import UtcDateTime, dialect_insert
from leadflow.events import Envelope, Event, LeadErased, new_event_id
from leadflow.outbox import kernel_metadata
from leadflow.schedule import every
from leadflow.sql import lock_keys
from leadflow.topic_config import second_tombstone_after
from leadflow.uow import Transaction, UnitOfWork

log = logging.getLogger(__name__)

_Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
_BatchHandler = Callable[[UnitOfWork, list[Envelope]], Awaitable[None]]

# One row per key to tombstone: a dead letter's (due_at NULL until its lead is erased), or
# a key tombstoned once, whose second tombstone is due at `due_at`.
log_keys_table = Table(
    "log_erasure_keys",
    kernel_metadata,
    Column("topic", String(200), primary_key=True),
    Column("key", String(400), primary_key=True),
    Column("lead_key", String(100), nullable=False),
    Column("due_at", UtcDateTime(), nullable=True),
    Index("ix_log_erasure_keys_lead_key", "lead_key"),
    Index("ix_log_erasure_keys_due_at", "due_at"),
)

# The leads this service erased: a dead letter of one of them is not written at all (an
# erased lead's events are ignored anyway, and its value is what the person asked to erase).
erased_leads_table = Table(
    "log_erased_leads",
    kernel_metadata,
    Column("lead_key", String(100), primary_key=True),
    Column("erased_at", UtcDateTime(), nullable=False),
)

_LEAD_KEY_CHARS = 100
# The most second tombstones one transaction stages.
_SECOND_BATCH = 500


def lead_key(key: bytes | None) -> str:
    """The lead's key as text (the lead id, for every event we produce)."""
    return (key or b"").decode("utf-8", "replace")[:_LEAD_KEY_CHARS]


def dead_letter_key(key: bytes | None, group: str, partition: int, offset: int) -> bytes:
    """A dead letter's own key: the lead's, then who failed it and where it was."""
    return f"{lead_key(key)}/{group}/{partition}-{offset}".encode()


async def _lock_lead(session: AsyncSession, lead: str) -> None:
    """Serialise a dead letter's recording and the lead's erasure (PostgreSQL; SQLite has
    one writer), so that neither misses the other."""
    await lock_keys(session, [lead])


async def record_dead_letter(
    sessions: async_sessionmaker[AsyncSession], dlq: str, key: bytes, original_key: bytes | None
) -> bool:
    """Remember a dead letter's key before it is written, so an erasure can tombstone it;
    False (nothing recorded, write nothing) when the lead was erased already."""
    lead = lead_key(original_key)
    async with sessions() as session, session.begin():
        await _lock_lead(session, lead)
        erased = await session.scalar(
            select(erased_leads_table.c.lead_key).where(erased_leads_table.c.lead_key == lead)
        )
        if erased is not None:
            return False
        ins = dialect_insert(session)
        await session.execute(
            ins(log_keys_table)
            .values(topic=dlq, key=key.decode(), lead_key=lead, due_at=None)
            .on_conflict_do_nothing()
        )
    return True


def _tombstone(uow: UnitOfWork, topic: str, key: bytes) -> None:
    # An empty outbox value is published as a null value (no event is empty).
    uow.emit_record(record_id=new_event_id(), topic=topic, key=key, value=b"", headers=[])


async def erase_from_log(
    uow: UnitOfWork, lead: str, produces: Sequence[str], second_after: float
) -> int:
    """Tombstone the lead's key on each topic in `produces` and each dead letter recorded
    for it, in the caller's transaction; the second tombstones fall due `second_after`
    seconds later. Returns how many tombstones were staged."""
    session = uow.session
    now = datetime.now(UTC)
    due = now + timedelta(seconds=second_after)
    ins = dialect_insert(session)
    await _lock_lead(session, lead)
    await session.execute(
        ins(erased_leads_table).values(lead_key=lead, erased_at=now).on_conflict_do_nothing()
    )
    recorded = (
        await session.execute(
            select(log_keys_table.c.topic, log_keys_table.c.key).where(
                log_keys_table.c.lead_key == lead, log_keys_table.c.due_at.is_(None)
            )
        )
    ).all()
    keys = [(topic, lead) for topic in produces] + [(t, k) for t, k in recorded]
    for topic, key in keys:
        _tombstone(uow, topic, key.encode())
    if recorded:
        await session.execute(
            update(log_keys_table)
            .where(log_keys_table.c.lead_key == lead, log_keys_table.c.due_at.is_(None))
            .values(due_at=due)
        )
    if produces:
        stmt = ins(log_keys_table).values(
            [{"topic": t, "key": lead, "lead_key": lead, "due_at": due} for t in produces]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["topic", "key"], set_={"due_at": stmt.excluded.due_at}
            )
        )
    return len(keys)


async def second_tombstones(transaction: Transaction, limit: int = _SECOND_BATCH) -> int:
    """Stage the second tombstones that fell due (they roll the segments holding the
    first); how many."""
    now = datetime.now(UTC)
    async with transaction() as uow:
        session = uow.session
        rows = (
            await session.execute(
                select(log_keys_table.c.topic, log_keys_table.c.key)
                .where(log_keys_table.c.due_at <= now)
                .limit(limit)
            )
        ).all()
        for topic, key in rows:
            _tombstone(uow, topic, key.encode())
        if rows:  # row values: SQLite has them since 3.15
            pair = tuple_(log_keys_table.c.topic, log_keys_table.c.key)
            await session.execute(delete(log_keys_table).where(pair.in_(rows)))
    return len(rows)


class LogEraser:
    """Wraps a service's `leads.erased` handlers with the log's erasure, and runs the
    worker that writes the second tombstones."""

    def __init__(
        self,
        transaction: Transaction,
        *,
        produces: Sequence[str],
        erasure_delay_seconds: int,
        poll_seconds: float = 1.0,
    ) -> None:
        self._transaction = transaction
        self._produces = tuple(produces)
        self._second_after = second_tombstone_after(erasure_delay_seconds)
        self._poll = poll_seconds

    def handlers(self, handlers: Mapping[type[Event], _Handler]) -> dict[type[Event], _Handler]:
        """`handlers` with the log's erasure after the service's own `leads.erased` handling
        (and a handler that does only that, if the service has none)."""
        inner = handlers.get(LeadErased)

        async def on_erased(uow: UnitOfWork, env: Envelope) -> None:
            if inner is not None:
                await inner(uow, env)
            await self.erase(uow, env)

        return {**handlers, LeadErased: on_erased}

    def batch_handlers(
        self, batch: Mapping[type[Event], _BatchHandler] | None
    ) -> dict[type[Event], _BatchHandler]:
        """The same for batch handlers (a run of `leads.erased` events handled together)."""
        found = dict(batch or {})
        inner = found.get(LeadErased)
        if inner is None:
            return found

        async def on_erased_many(uow: UnitOfWork, envs: list[Envelope]) -> None:
            await inner(uow, envs)
            for env in envs:
                await self.erase(uow, env)

        found[LeadErased] = on_erased_many
        return found

    async def erase(self, uow: UnitOfWork, env: Envelope) -> None:
        """The log's part of an erasure, after the service's own: the lead's outbox rows
        emptied (every service's, published or not, and the events staged so far) and its
        keys tombstoned."""
        await uow.forget_lead(env.data.lead_id)
        lead = str(env.data.lead_id)
        n = await erase_from_log(uow, lead, self._produces, self._second_after)
        log.info("log erasure staged", extra={"lead_id": lead, "tombstones": n})

    async def run(self) -> None:
        """Write the second tombstones as they fall due, until cancelled (a failed pass, the
        database away, leaves the rows for the next one)."""
        await every(self._poll, self._drain)()

    async def _drain(self) -> None:
        # A full batch may have left more due: take the next at once, not a poll later.
        while await second_tombstones(self._transaction, _SECOND_BATCH) == _SECOND_BATCH:
            pass
