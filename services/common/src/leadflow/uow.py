"""The unit of work: what one transaction reads, writes and emits, and what follows its commit.

A handler receives a `UnitOfWork` and says there what its transaction does: it reads and
changes stored rows through `session`, `emit`s events (and `emit_record`s non-lead
records), `stage`s new rows, and asks for work `before_commit` and `on_commit`. Nothing else
writes: there are no session event listeners. `commit` is the one place that says in which
order the rest happens:

1. the `before_commit` steps run (feedback folds its events there), each once;
2. the staged rows and the outbox rows go in together (`leadflow.db.bulk_insert`:
   PostgreSQL, one statement for all tables; SQLite, one per table);
3. the transaction commits;
4. the outbox rows written are handed to this process's relay, which is woken;
5. the `on_commit` callbacks run, in the order given.

A rollback drops all of it. Staged rows go in at commit, so a handler that reads what it (or
an earlier handler of the same transaction) staged calls `flush` first.

`MemoryUnitOfWork` is the same object without a database, for unit tests of handlers: it
records what was emitted, staged and asked for, and its `commit` runs the callbacks.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from leadflow.bulk import InsertPart, bulk_insert
from leadflow.events import Envelope, Event, LeadErased, new_event_id
from leadflow.outbox import OutboxMessage, forget_statement, outbox_table

T = TypeVar("T")

MakeEnvelope = Callable[[Event, Envelope | None], Envelope]
BeforeCommit = Callable[["UnitOfWork", list[Any]], Awaitable[None]]


class Relay(Protocol):
    """What the unit of work tells the outbox relay after a commit (`OutboxRelay`)."""

    def remember(self, messages: list[OutboxMessage]) -> None: ...

    def wake(self) -> None: ...


class Database(Protocol):
    """A service's database as the kernel's parts below the runtime use it (`service.Runtime`
    is one): sessions to read, units of work to write."""

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]: ...

    def transaction(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork]: ...


class Staged(NamedTuple):
    """What a unit of work holds for its commit, for tests to look at."""

    messages: list[OutboxMessage]
    rows: list[InsertPart]


def plain_envelope(event: Event, cause: Envelope | None = None) -> Envelope:
    """An envelope with no trace and the source `/test` (MemoryUnitOfWork's default)."""
    return Envelope(data=event, source="/test", id=new_event_id())


class UnitOfWork:
    """One transaction: its session, the events and rows it stages, and what runs at commit."""

    def __init__(
        self,
        session: AsyncSession | None,
        *,
        envelope: MakeEnvelope = plain_envelope,
        relay: Relay | None = None,
    ) -> None:
        self._session = session
        self._envelope = envelope
        self._relay = relay
        self.emitted: list[Envelope] = []  # every event emitted, in order (outbox rows aside)
        self._messages: list[OutboxMessage] = []
        self._rows: list[InsertPart] = []
        self._before: dict[BeforeCommit, list[Any]] = {}
        self._after: list[Callable[[], None]] = []

    @property
    def session(self) -> AsyncSession:
        """The transaction's session, for reads and for changes to stored rows."""
        if self._session is None:
            raise RuntimeError("this unit of work has no database")
        return self._session

    def emit(
        self, event: Event, *, cause: Envelope | None = None, value: bytes | None = None
    ) -> Envelope:
        """Stage an event for publishing (the outbox); it commits or rolls back with the rest.

        `cause` is the consumed event this one follows from (its trace continues); without
        it, the current request's or event's span is the parent. `value` is the encoded
        event, when the caller has it already (two events with the same data).
        """
        envelope = self._envelope(event, cause)
        self.emitted.append(envelope)
        self._messages.append(
            OutboxMessage(
                envelope.id,
                envelope.topic,
                envelope.key,
                envelope.value() if value is None else value,
                envelope.headers(),
            )
        )
        return envelope

    def emit_record(
        self,
        *,
        record_id: str,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, bytes]],
    ) -> None:
        """Stage a record that is not a lead event (token revocations, tombstones: an empty
        value) for publishing, as `emit` does; `record_id` is unique like a `ce_id`."""
        self._messages.append(OutboxMessage(record_id, topic, key, value, headers))

    def stage(
        self, table: Table, rows: Sequence[Mapping[str, Any]], *, replace: bool = False
    ) -> None:
        """New rows of `table`, inserted at commit with the outbox rows (or at `flush`).

        Every row has a value for each column it sets, the same columns in every row of one
        call, and one for each column with a Python-side default. The rows of one table keep
        their order; tables go in in no particular order, so none may need another's rows
        (no foreign keys between them). With `replace`, a row whose primary key is stored
        already overwrites the stored row's columns it sets (an upsert)."""
        if rows:
            self._rows.append(InsertPart(table, rows, replace))

    def before_commit(
        self, step: Callable[[UnitOfWork, list[T]], Awaitable[None]], items: Iterable[T]
    ) -> None:
        """Run `step` once just before the commit's writes, with every item given for it in
        this transaction, in order (feedback folds a transaction's events so); what it
        stages or emits is written with the rest."""
        self._before.setdefault(step, []).extend(items)

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (once, however often it is
        asked for); a rollback drops it."""
        if callback not in self._after:
            self._after.append(callback)

    @property
    def staged(self) -> Staged:
        """What is waiting for the commit (or `flush`)."""
        return Staged(list(self._messages), list(self._rows))

    @property
    def steps(self) -> dict[BeforeCommit, list[Any]]:
        """The `before_commit` steps waiting for the commit, with their items."""
        return {step: list(items) for step, items in self._before.items()}

    @property
    def callbacks(self) -> list[Callable[[], None]]:
        """The `on_commit` callbacks waiting for the commit."""
        return list(self._after)

    async def flush(self) -> None:
        """Insert the staged rows now (the outbox rows wait for the commit), so that the
        transaction's next reads see them."""
        rows, self._rows = self._rows, []
        if rows:
            await bulk_insert(self.session, rows)

    async def forget_lead(self, lead_id: uuid.UUID) -> int:
        """Erasure: empty the lead's outbox rows, published or not (`outbox.forget_statement`),
        and drop the same of the events staged so far; how many stored rows were emptied.
        What is staged after this call, such as the erasure's own records, is kept."""
        key = self._drop_events_of(lead_id)
        result = await self.session.execute(forget_statement(key))
        return int(getattr(result, "rowcount", 0) or 0)

    async def commit(self) -> None:
        """The commit, in its order (see the module's docstring)."""
        await self._run_steps()
        messages, self._messages = self._messages, []
        rows, self._rows = self._rows, []
        if messages:
            rows.append(InsertPart(outbox_table, _outbox_rows(messages)))
        if rows:
            await bulk_insert(self.session, rows)
        await self.session.commit()
        if messages and self._relay is not None:
            self._relay.remember(messages)
            self._relay.wake()
        self._run_callbacks()

    async def rollback(self) -> None:
        """Drop everything staged and roll the transaction back."""
        self._drop()
        if self._session is not None:
            await self._session.rollback()

    async def _run_steps(self) -> None:
        while self._before:  # a step may ask for another
            step = next(iter(self._before))
            await step(self, self._before.pop(step))

    def _drop_events_of(self, lead_id: uuid.UUID) -> bytes:
        """Drop the staged events of the lead (not `leads.erased`, not tombstones); its key."""
        key = str(lead_id).encode()
        self._messages = [
            m for m in self._messages if m.key != key or m.topic == LeadErased.topic or not m.value
        ]
        return key

    def _run_callbacks(self) -> None:
        callbacks, self._after = self._after, []
        for callback in callbacks:
            callback()

    def _drop(self) -> None:
        self._messages, self._rows, self._before, self._after = [], [], {}, []


class MemoryUnitOfWork(UnitOfWork):
    """A unit of work without a database, for unit tests of handlers: `emitted`, `staged`,
    `callbacks` say what the handler did; `commit` runs the before-commit steps and the
    callbacks, as the real one does around its writes."""

    def __init__(self, *, envelope: MakeEnvelope = plain_envelope) -> None:
        super().__init__(None, envelope=envelope)
        self.committed = Staged([], [])  # what the last commit would have written

    async def flush(self) -> None:
        """Nothing to insert into: the staged rows stay where a test can see them."""

    async def forget_lead(self, lead_id: uuid.UUID) -> int:
        self._drop_events_of(lead_id)
        return 0

    async def commit(self) -> None:
        await self._run_steps()
        self.committed = Staged(self._messages, self._rows)
        self._messages, self._rows = [], []
        self._run_callbacks()

    async def rollback(self) -> None:
        self._drop()


def _outbox_rows(messages: list[OutboxMessage]) -> list[dict[str, Any]]:
    created_at = datetime.now(UTC)  # when the rows were written: one value for them all
    return [
        {
            "event_id": m.event_id,
            "topic": m.topic,
            "key": m.key,
            "value": m.value,
            "headers": m.headers,  # [[name, value], ...]: pydantic-core writes bytes as text
            "created_at": created_at,
        }
        for m in messages
    ]


@contextlib.asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession],
    *,
    envelope: MakeEnvelope = plain_envelope,
    relay: Relay | None = None,
) -> AsyncIterator[UnitOfWork]:
    """A unit of work on a new session: committed when the block ends, rolled back (and
    everything staged dropped) when it raises."""
    async with sessions() as session:
        uow = UnitOfWork(session, envelope=envelope, relay=relay)
        try:
            yield uow
        except BaseException:
            await uow.rollback()
            raise
        try:
            await uow.commit()
        except BaseException:
            await uow.rollback()
            raise


Transaction = Callable[[], contextlib.AbstractAsyncContextManager[UnitOfWork]]
"""What opens a unit of work: `Runtime.transaction`."""
