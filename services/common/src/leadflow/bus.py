"""The consumer loop: inbox + handler in one transaction, then the offset; retries, then DLQ.

For each poll: decode every CloudEvent (undecodable → DLQ at once), then in one database
transaction claim the inbox rows (`consumer group`, `ce_id`) and run the handlers, which may
stage outgoing events in the outbox; each partition's events run in order. If anything
fails, the partitions are retried apart, then their events one by one. Offsets are committed
after the transaction, in the background and at most once per `commit_interval` (the inbox
turns a redelivery of what a crash left uncommitted into a no-op, so a commit per poll would
only cost the broker and the client a request each), and at once for partitions the
rebalance listener sees taken away and when the loop stops.

With `concurrency` above one, up to that many polls are handled at once, each in its own
transaction, on disjoint partition numbers: while one transaction waits for the database,
the next poll is decoded and handled. A lead's events share a partition number on every
topic (same key, same partitioner, same partition count), so they are never handled in
two transactions at once, and each partition's events stay in order. Worth it for a
service whose transactions are independent of each other (lead-scoring); one that
serialises its transactions on a lock gains nothing. A handler error is retried with growing
delays a bounded number of times, then the original message goes to `<topic>.dlq` with
headers saying why; an outage of the database, a deadlock or a serialization failure is
waited out and retried, never dead-lettered; a message that cannot be decoded at all goes to
the DLQ at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace
from opentelemetry.trace import Tracer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from leadflow.db import is_transient
from leadflow.erasure_log import dead_letter_key, record_dead_letter
from leadflow.events import (
    Envelope,
    Event,
    LeadErased,
    MalformedEvent,
    UnknownVersion,
    decode,
    dlq_topic,
)
from leadflow.kafka import ProducerHolder
from leadflow.observability import (
    CONSUMER_LAG,
    DLQ_PUBLISHED,
    EVENT_AGE_SECONDS,
    EVENT_BATCH_HANDLE_SECONDS,
    EVENT_HANDLE_SECONDS,
    EVENTS_CONSUMED,
)
from leadflow.outbox import claim_inbox, claim_inbox_many
from leadflow.schedule import wait_or_timeout
from leadflow.tracing import consuming
from leadflow.uow import Transaction, UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

# A handler gets its transaction's unit of work (`leadflow.uow`): it reads and writes through
# it, and what it emits or stages commits with the event's inbox row.
Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
Handlers = Mapping[type[Event], Handler]
# Optional: handles a run of same-type events in one call (e.g. one query for all their rows);
# must have the same effect as calling the single handler on each, in order.
BatchHandler = Callable[[UnitOfWork, list[Envelope]], Awaitable[None]]
BatchHandlers = Mapping[type[Event], BatchHandler]

MAX_VALUE_BYTES = 1_048_576
# The longest wait between two tries of an erasure that keeps failing.
_ERASURE_RETRY_CAP = 60.0


class _Stopped(Exception):
    """Shutdown interrupted a retry; the message stays uncommitted and is redelivered."""


class Transient(Exception):
    """Raised by a handler for a condition that will pass (waited out, never dead-lettered)."""


@dataclass(frozen=True)
class Failure:
    """Why a message could not be handled."""

    error_type: str
    message: str
    attempts: int


@dataclass(frozen=True)
class _InFlight:
    """A poll being handled: the partition numbers it holds, and its messages."""

    numbers: frozenset[int]
    batch: Mapping[TopicPartition, list[Any]]


async def _waiting(consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]) -> int:
    """How many records the partitions hold past the consumer's position (as of the last
    fetch): what a poll now could take, fetched or not."""
    n = 0
    for tp in partitions:
        high = consumer.highwater(tp)
        if high is not None:
            n += max(0, high - await consumer.position(tp))
    return n


def partition_lags(
    previous: Mapping[TopicPartition, int],
    handled: Mapping[TopicPartition, int],
    highwater: Callable[[TopicPartition], int | None],
    assigned: Iterable[TopicPartition],
) -> dict[TopicPartition, int]:
    """The lag of each assigned partition: from its high watermark for those whose records
    up to offset `handled[tp]` were just handled, as before for the others."""
    ours = set(assigned)
    lags = {tp: n for tp, n in previous.items() if tp in ours}
    for tp, offset in handled.items():
        high = highwater(tp)
        if high is not None and tp in ours:
            lags[tp] = max(0, high - (offset + 1))
    return lags


def lag_by_topic(lags: Mapping[TopicPartition, int], topics: Iterable[str]) -> dict[str, int]:
    """The sum of the partitions' lags per topic; 0 for a topic with none assigned."""
    totals = dict.fromkeys(topics, 0)
    for tp, n in lags.items():
        totals[tp.topic] = totals.get(tp.topic, 0) + n
    return totals


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, Transient) or is_transient(exc)


class _Revoker(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: EventConsumer) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        taken = set(revoked)
        await self._loop.settle(taken)  # finish what is in hand of them, then commit it
        await self._loop.commit_processed(taken)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("partitions assigned", extra={"partitions": sorted(str(tp) for tp in assigned)})


class EventConsumer:
    """Consumes `topics` as `group`, dispatching each event type to its handler."""

    def __init__(
        self,
        *,
        bootstrap: str,
        group: str,
        topics: Iterable[str],
        handlers: Handlers,
        batch_handlers: BatchHandlers | None = None,
        sessions: async_sessionmaker[AsyncSession],
        transaction: Transaction | None = None,
        producer: ProducerHolder,
        max_attempts: int = 5,
        backoff_seconds: float = 0.2,
        max_batch: int = 200,
        linger_seconds: float = 0.0,
        commit_interval_seconds: float = 1.0,
        concurrency: int = 1,
        client_options: dict[str, Any] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.group = group
        self.topics = tuple(topics)
        self._bootstrap = bootstrap
        self._handlers = handlers
        self._batch_handlers = batch_handlers or {}
        self._sessions = sessions
        # The runtime's (`Runtime.transaction`); alone (tools, tests) a plain one on `sessions`.
        self._transaction = transaction or functools.partial(unit_of_work, sessions)
        self._producer = producer
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._max_batch = max_batch
        self._linger = linger_seconds
        self._commit_interval = commit_interval_seconds
        self._concurrency = max(1, concurrency)
        # Polls being handled (concurrency > 1): the partition numbers each holds, its batch.
        self._inflight: dict[asyncio.Task[None], _InFlight] = {}
        self._last_commit = 0.0
        self._client_options = client_options or {}
        # The runtime's; alone (tools, tests) the global one, a no-op unless an app set one.
        self._tracer = tracer or trace.get_tracer("leadflow")
        self._consumer: AIOKafkaConsumer | None = None
        self._processed: dict[TopicPartition, int] = {}
        self._lags: dict[TopicPartition, int] = {}  # per assigned partition, as last handled
        self._commit_lock = asyncio.Lock()  # one offset commit at a time, in order
        self._committing: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.last_progress = time.monotonic()

    def stop(self) -> None:
        """Finish the message in hand, commit, and leave the group."""
        self._stopping.set()

    def handler(self, event_type: type[Event]) -> Handler | None:
        """What this consumer runs for one event of `event_type`, as registered."""
        return self._handlers.get(event_type)

    def rearm(self) -> None:
        """Let `run` consume again after a stop (a runtime started anew in one process)."""
        self._stopping.clear()

    async def run(self) -> None:
        """Consume until stopped; reconnects while Kafka is away."""
        while not self._stopping.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                group_id=self.group,
                client_id=f"{self.group}-consumer",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=300_000,
                session_timeout_ms=10_000,
                heartbeat_interval_ms=3_000,
                fetch_max_bytes=8 * 1_048_576,
                **self._client_options,
            )
            try:
                await consumer.start()
            except KafkaError as exc:
                log.warning("consumer %s cannot reach Kafka: %s", self.group, exc)
                self.last_progress = time.monotonic()
                await consumer.stop()
                await self._pause(2.0)
                continue
            consumer.subscribe(list(self.topics), listener=_Revoker(self))
            self._consumer = consumer
            try:
                await self._loop(consumer)
            finally:
                await self.commit_processed()
                self._consumer = None
                await consumer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        if self._concurrency > 1:
            await self._loop_concurrently(consumer)
            return
        while not self._stopping.is_set():
            self.last_progress = time.monotonic()
            batch = await consumer.getmany(timeout_ms=500, max_records=self._max_batch)
            if self._stopping.is_set():
                break  # uncommitted, redelivered
            assigned = consumer.assignment()
            ours = {
                tp: msgs for tp, msgs in batch.items() if tp in assigned
            }  # not ours: redelivered
            try:
                await self._process_batch(ours)
            except _Stopped:
                return
            self.last_progress = time.monotonic()
            if batch:
                self._commit_in_background()
                self._record_lag(consumer, batch)
                if self._linger and sum(map(len, batch.values())) < self._max_batch:
                    await self._pause(self._linger)  # the fetcher keeps buffering meanwhile

    async def _loop_concurrently(self, consumer: AIOKafkaConsumer) -> None:
        """Up to `concurrency` polls in flight, on disjoint partition numbers.

        With polls in flight, another starts only when the other partitions hold a full
        batch (a backlog), and takes only what is fetched already; otherwise the loop waits
        for a poll to finish, so that under a light load events still gather into one
        transaction per poll instead of a transaction each.
        """
        inflight = self._inflight
        small = False  # the last poll was less than a full batch
        try:
            while not self._stopping.is_set():
                self.last_progress = time.monotonic()
                if inflight:
                    busy = frozenset().union(*(poll.numbers for poll in inflight.values()))
                    free = [tp for tp in consumer.assignment() if tp.partition not in busy]
                    batch = (
                        await consumer.getmany(*free, timeout_ms=0, max_records=self._max_batch)
                        if free and await _waiting(consumer, free) >= self._max_batch
                        else {}
                    )
                    if not batch:
                        await self._reap(consumer, wait=True)
                        continue
                else:
                    if small and self._linger:
                        await self._pause(self._linger)  # as one at a time: events gather
                    batch = await consumer.getmany(timeout_ms=500, max_records=self._max_batch)
                if self._stopping.is_set():
                    break  # uncommitted, redelivered
                assigned = consumer.assignment()
                ours = {tp: msgs for tp, msgs in batch.items() if tp in assigned and msgs}
                if not ours:
                    small = False
                    continue
                small = sum(map(len, ours.values())) < self._max_batch
                task = asyncio.create_task(self._process_batch(ours))
                inflight[task] = _InFlight(frozenset(tp.partition for tp in ours), ours)
                await self._reap(consumer, wait=len(inflight) >= self._concurrency)
        except asyncio.CancelledError:
            for task in inflight:
                task.cancel()  # rolled back: uncommitted, redelivered
            raise
        finally:
            if inflight:  # finish what is in hand (a stop cuts retries short)
                await asyncio.wait(list(inflight))
                for task in [t for t in inflight if t.cancelled()]:
                    del inflight[task]
                await self._reap(consumer, wait=False)

    async def _reap(self, consumer: AIOKafkaConsumer, *, wait: bool) -> None:
        """Take the polls that have finished (waiting for one if `wait`): their offsets go
        with the next commit. A stop that cut one short ends the loop."""
        if wait and self._inflight:
            await asyncio.wait(list(self._inflight), return_when=asyncio.FIRST_COMPLETED)
        for task in [t for t in self._inflight if t.done()]:
            poll = self._inflight.pop(task)
            try:
                task.result()  # an unexpected error ends the loop, as without concurrency
            except _Stopped:
                self._stopping.set()  # the rest of that poll is redelivered
                continue
            self.last_progress = time.monotonic()
            self._commit_in_background()
            self._record_lag(consumer, poll.batch)

    async def settle(self, partitions: set[TopicPartition]) -> None:
        """Wait for the polls in flight that hold any of `partitions` (before they are
        committed and given up in a rebalance)."""
        numbers = {tp.partition for tp in partitions}
        holding = [t for t, poll in self._inflight.items() if poll.numbers & numbers]
        if holding:
            await asyncio.wait(holding)

    def _commit_in_background(self) -> None:
        """Commit what was processed while the next batches are handled, once the interval
        since the last commit has passed; what a commit in flight has not covered goes with
        the next one."""
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_quietly())

    async def _commit_quietly(self) -> None:
        wait = self._last_commit + self._commit_interval - time.monotonic()
        if wait > 0:
            await self._pause(wait)  # cut short by stop(); run() then commits what is left
        self._last_commit = time.monotonic()
        try:
            await self.commit_processed()
        except Exception as exc:  # the next commit (or the next owner, via the inbox) covers it
            log.warning("offset commit failed: %s: %s", type(exc).__name__, exc)

    async def _process_batch(self, batch: Mapping[TopicPartition, list[Any]]) -> None:
        """A poll's messages: all in one transaction when all succeed, else per partition."""
        decoded: dict[TopicPartition, list[tuple[Any, Envelope, Handler]]] = {}
        for tp, messages in batch.items():
            decoded[tp] = [(msg, *d) for msg in messages if (d := await self._decode(msg))]
        pending = [p for part in decoded.values() for p in part]
        if len(decoded) > 1 and len(pending) > 1 and await self._handle_together(pending):
            for tp, messages in batch.items():
                self._processed[tp] = messages[-1].offset + 1
            return
        for tp, messages in batch.items():
            if self._stopping.is_set():
                return  # not processed: uncommitted, redelivered
            await self._process_partition(tp, messages, decoded[tp])

    async def _process_partition(
        self,
        tp: TopicPartition,
        messages: list[Any],
        pending: list[tuple[Any, Envelope, Handler]],
    ) -> None:
        """One partition's messages, in order: together in one transaction when all succeed."""
        if len(pending) < 2 or not await self._handle_together(pending):
            for msg, envelope, handler in pending:
                await self._handle_with_retries(msg, envelope, handler)
                self._processed[tp] = msg.offset + 1
        self._processed[tp] = messages[-1].offset + 1

    async def _handle_together(self, pending: list[tuple[Any, Envelope, Handler]]) -> bool:
        """The fast path: every event of the batch in one transaction; False if any failed."""
        ids = [envelope.id for _, envelope, _ in pending]
        if len(set(ids)) < len(ids):
            return False  # a duplicate inside the batch: the one-by-one path sees it
        started = time.perf_counter()
        try:
            async with self._transaction() as uow:
                fresh = await claim_inbox_many(uow.session, self.group, ids)
                todo = [(env, handler) for _, env, handler in pending if env.id in fresh]
                await self._run_handlers(uow, todo)
        except asyncio.CancelledError:
            raise
        except Exception:  # retried one by one, where failures are counted and dead-lettered
            return False
        elapsed = time.perf_counter() - started
        EVENT_BATCH_HANDLE_SECONDS.observe(elapsed)
        self._observe(  # each event: its share of the transaction
            [(msg, env, "ok" if env.id in fresh else "duplicate") for msg, env, _ in pending],
            elapsed / len(pending),
        )
        return True

    async def _run_handlers(self, uow: UnitOfWork, todo: list[tuple[Envelope, Handler]]) -> None:
        """Handle in order; consecutive events of a type with a batch handler go together."""
        i = 0
        while i < len(todo):
            kind = type(todo[i][0].data)
            batch = self._batch_handlers.get(kind)
            if batch is None:
                await self._traced(todo[i][1], uow, todo[i][0])
                i += 1
                continue
            j = i
            while j < len(todo) and type(todo[j][0].data) is kind:
                j += 1
            run = [env for env, _ in todo[i:j]]
            # Batch handlers pass `cause=` to `UnitOfWork.emit` (or use `tracing.following`).
            with consuming(self._tracer, run, self.group):
                await batch(uow, run)
            i = j

    async def _traced(self, handler: Handler, uow: UnitOfWork, envelope: Envelope) -> None:
        """Run a handler in a consumer span of the event's trace, so what it emits continues it."""
        with consuming(self._tracer, [envelope], self.group):
            await handler(uow, envelope)

    def _observe(self, handled: list[tuple[Any, Envelope, str]], seconds_each: float) -> None:
        """Metrics (and an INFO line each) for events handled in one transaction, which took
        `seconds_each` per event (no decoding, back-off or failed attempt included)."""
        now = datetime.now(UTC)
        verbose = log.isEnabledFor(logging.INFO)
        counts: dict[tuple[str, str], int] = {}
        ages: dict[str, Any] = {}
        for msg, envelope, result in handled:
            if verbose:
                log.info(
                    "event handled",
                    extra={
                        "ce_type": envelope.type,
                        "lead_id": str(envelope.data.lead_id),
                        "ce_id": envelope.id,
                        "result": result,
                    },
                )
            counts[msg.topic, result] = counts.get((msg.topic, result), 0) + 1
            age = ages.get(msg.topic) or ages.setdefault(
                msg.topic, EVENT_AGE_SECONDS.labels(msg.topic)
            )
            age.observe(max(0.0, (now - envelope.time).total_seconds()))
        for (topic, result), n in counts.items():
            EVENTS_CONSUMED.labels(topic, result).inc(n)
            handle_seconds = EVENT_HANDLE_SECONDS.labels(topic)
            for _ in range(n):
                handle_seconds.observe(seconds_each)

    async def commit_processed(self, only: set[TopicPartition] | None = None) -> None:
        """Commit the offsets of what was fully processed (all, or only `only`)."""
        async with self._commit_lock:
            consumer = self._consumer
            if consumer is None:
                return
            assigned = consumer.assignment()
            for tp in [tp for tp in self._processed if tp not in assigned]:
                del self._processed[tp]  # given up meanwhile: its next owner re-reads
            offsets = {tp: off for tp, off in self._processed.items() if only is None or tp in only}
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except KafkaError as exc:
                # Lost the partition meanwhile: the next owner re-reads; the inbox makes it
                # a no-op.
                log.warning("offset commit failed: %s", exc)
            for tp, off in offsets.items():
                if self._processed.get(tp) == off:
                    del self._processed[tp]

    async def _decode(self, msg: Any) -> tuple[Envelope, Handler] | None:
        """The event and its handler; None for what is dead-lettered (malformed) or ignored."""
        if msg.value is None:  # a tombstone (erasure on the log): nothing to handle
            EVENTS_CONSUMED.labels(msg.topic, "tombstone").inc()
            return None
        try:
            if len(msg.value) > MAX_VALUE_BYTES:
                raise MalformedEvent(f"value of {len(msg.value)} bytes exceeds {MAX_VALUE_BYTES}")
            envelope = decode(msg.value, msg.headers)
        except UnknownVersion:  # the version this consumer reads travels alongside
            EVENTS_CONSUMED.labels(msg.topic, "unknown_version").inc()
            return None
        except MalformedEvent as exc:
            await self._dead_letter(msg, Failure("MalformedEvent", str(exc), 1))
            return None
        except Exception as exc:  # whatever else a hostile message trips: dead-lettered once
            cause = f"{type(exc).__name__}: {exc}"[:500]
            await self._dead_letter(msg, Failure("MalformedEvent", cause, 1))
            return None
        handler = self._handlers.get(type(envelope.data))
        if handler is None:
            EVENTS_CONSUMED.labels(msg.topic, "ignored").inc()
            return None
        return envelope, handler

    async def _handle_with_retries(self, msg: Any, envelope: Envelope, handler: Handler) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                started = time.perf_counter()  # this attempt: not the back-off before it
                result = await self._handle_once(handler, envelope)
                self._observe([(msg, envelope, result)], time.perf_counter() - started)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # IntegrityError is most often a concurrent duplicate of the same ce_id: the
                # retry sees the inbox row. Otherwise it is a bug, dead-lettered like the rest.
                # An erasure is never dead-lettered (the person would never be erased): it is
                # retried like an outage, with growing delays, until a fix lets it through.
                erasure = isinstance(envelope.data, LeadErased)
                if (_is_transient(exc) and not isinstance(exc, IntegrityError)) or erasure:
                    log.log(
                        logging.ERROR if erasure else logging.WARNING,
                        "%s failure, will retry: %s",
                        "erasure" if erasure else "transient",
                        type(exc).__name__,
                    )
                    self.last_progress = time.monotonic()  # waiting out an outage is not stuck
                    attempts = min(attempts, self._max_attempts - 1)
                    cap = _ERASURE_RETRY_CAP if erasure else 5.0
                    await self._pause(min(self._backoff * 2**attempts, cap))
                    if self._stopping.is_set():
                        raise _Stopped from exc
                    continue
                log.warning(
                    "handler failed",
                    extra={
                        "ce_id": envelope.id,
                        "topic": msg.topic,
                        "attempt": attempts,
                        "error": type(exc).__name__,
                    },
                )
                if attempts >= self._max_attempts:
                    await self._dead_letter(
                        msg, Failure(type(exc).__name__, str(exc)[:500], attempts)
                    )
                    return
            await self._pause(min(self._backoff * 2 ** (attempts - 1), 5.0))

    async def _handle_once(self, handler: Handler, envelope: Envelope) -> str:
        async with self._transaction() as uow:
            if not await claim_inbox(uow.session, self.group, envelope.id):
                return "duplicate"
            await self._traced(handler, uow, envelope)
        return "ok"

    async def _dead_letter(self, msg: Any, failure: Failure) -> None:
        # Each dead letter has a key of its own, recorded before it is written, so that
        # compaction never merges two and an erasure can tombstone it (erasure_log.py).
        key = dead_letter_key(msg.key, self.group, msg.partition, msg.offset)
        if not await self._record_dead_letter(msg, key):
            # This service erased its lead: the person's data is not written again, anywhere.
            EVENTS_CONSUMED.labels(msg.topic, "dropped_erased").inc()
            log.warning(
                "event of an erased lead dropped, not dead-lettered",
                extra={"topic": msg.topic, "partition": msg.partition, "offset": msg.offset},
            )
            return
        headers = [
            *(msg.headers or ()),
            *([("dlq_original_key", msg.key)] if msg.key is not None else []),
            ("dlq_original_topic", msg.topic.encode()),
            ("dlq_original_partition", str(msg.partition).encode()),
            ("dlq_original_offset", str(msg.offset).encode()),
            ("dlq_consumer_group", self.group.encode()),
            ("dlq_error_type", failure.error_type.encode()),
            ("dlq_error_message", failure.message.encode("utf-8", "replace")),
            ("dlq_attempts", str(failure.attempts).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        value = msg.value
        if value is not None and len(value) > MAX_VALUE_BYTES:
            value = value[: MAX_VALUE_BYTES // 2]  # the DLQ topic refuses what is too large
            headers.append(("dlq_truncated", b"true"))
        while True:  # never move on without the DLQ holding the message
            try:
                producer = await self._producer.get()
                await producer.send_and_wait(
                    dlq_topic(msg.topic), value=value, key=key, headers=headers
                )
                break
            except KafkaError as exc:
                log.warning("DLQ publish failed, retrying: %s", exc)
                await self._producer.reset()
                await self._pause(1.0)
                if self._stopping.is_set():
                    raise _Stopped from exc
        DLQ_PUBLISHED.labels(msg.topic).inc()
        EVENTS_CONSUMED.labels(msg.topic, "dead_lettered").inc()
        log.error(
            "event dead-lettered",
            extra={
                "topic": msg.topic,
                "partition": msg.partition,
                "offset": msg.offset,
                "error": failure.error_type,
                "attempts": failure.attempts,
            },
        )

    async def _record_dead_letter(self, msg: Any, key: bytes) -> bool:
        """Record the key first; False when the lead was erased (write nothing)."""
        while True:  # never write a dead letter an erasure could not find
            try:
                return await record_dead_letter(self._sessions, dlq_topic(msg.topic), key, msg.key)
            except Exception as exc:
                log.warning("recording a dead letter failed, retrying: %s", type(exc).__name__)
                self.last_progress = time.monotonic()
                await self._pause(1.0)
                if self._stopping.is_set():
                    raise _Stopped from exc

    def _record_lag(
        self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, list[Any]]
    ) -> None:
        """Each assigned partition's lag, updated by what was just handled; the gauge is
        their sum per topic (not only the partitions of this poll)."""
        handled = {tp: msgs[-1].offset for tp, msgs in batch.items() if msgs}
        self._lags = partition_lags(self._lags, handled, consumer.highwater, consumer.assignment())
        for topic, lag in lag_by_topic(self._lags, self.topics).items():
            CONSUMER_LAG.labels(topic).set(lag)

    async def _pause(self, seconds: float) -> None:
        await wait_or_timeout(self._stopping, seconds)
