"""A service's runtime: database, producer, outbox relay and consumers, started in a lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from leadflow.access import access_of
from leadflow.access_api import install_access
from leadflow.bus import BatchHandlers, EventConsumer, Handlers
from leadflow.db import create_engine, ping, session_factory
from leadflow.db_limits import DbLimits, relay_engine
from leadflow.dlq_gauge import dlq_gauge
from leadflow.docs import install_docs
from leadflow.edge import Edge
from leadflow.events import Envelope, Event, new_event_id
from leadflow.groupcommit import Flush, GroupCommit
from leadflow.http import health_router, install_error_handlers
from leadflow.kafka import ProducerHolder, client_options, physical_topic
from leadflow.openapi import allow_every_method, document_problems
from leadflow.otel import Tracing
from leadflow.outbox import OutboxRelay
from leadflow.schedule import Worker
from leadflow.settings import Settings
from leadflow.tracing import created, parent_of
from leadflow.uow import UnitOfWork, unit_of_work

log = logging.getLogger(__name__)

STUCK_AFTER_SECONDS = 600.0
# How long a stop waits for cancelled tasks before it goes on without them.
STOP_SECONDS = 10.0
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Runtime:
    """Everything with a connection, built in one place and closed in reverse order."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: ProducerHolder
    relay: OutboxRelay
    tracing: Tracing
    consumers: list[EventConsumer] = field(default_factory=list)
    workers: list[tuple[str, Worker]] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _groups: dict[str, GroupCommit[Any, Any]] = field(default_factory=dict)
    relay_engine: AsyncEngine | None = None  # the relay's own (LEADFLOW_RELAY_DATABASE_URL)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings.database_url, limits=DbLimits.from_settings(settings))
        producer = ProducerHolder(
            settings.kafka_bootstrap,
            client_id=settings.service_name,
            options=client_options(settings),
        )
        own = relay_engine(settings, engine)  # behind a transaction pooler
        relay = OutboxRelay(
            own or engine,
            producer,
            batch_size=settings.relay_batch_size,
            poll_seconds=settings.relay_poll_seconds,
            topic_prefix=settings.kafka_topic_prefix,
        )
        tracing = Tracing.from_settings(settings)
        return cls(
            settings, engine, session_factory(engine), producer, relay, tracing, relay_engine=own
        )

    @property
    def source(self) -> str:
        return f"/{self.settings.service_name}"

    def consume(
        self,
        topics: Iterable[str],
        handlers: Handlers,
        *,
        batch_handlers: BatchHandlers | None = None,
        group: str | None = None,
    ) -> None:
        """Register a consumer loop (started with the runtime)."""
        s = self.settings
        self.consumers.append(
            EventConsumer(
                bootstrap=s.kafka_bootstrap,
                group=group or s.consumer_group,
                topics=[physical_topic(t, s.kafka_topic_prefix) for t in topics],
                handlers=handlers,
                batch_handlers=batch_handlers,
                sessions=self.sessions,
                transaction=self.transaction,
                producer=self.producer,
                max_attempts=s.consumer_max_attempts,
                backoff_seconds=s.consumer_retry_backoff_seconds,
                max_batch=s.consumer_max_batch,
                linger_seconds=s.consumer_linger_ms / 1000,
                commit_interval_seconds=s.consumer_commit_interval_ms / 1000,
                # SQLite: one connection per process, so concurrent transactions would only
                # queue for it (and cost more than they overlap).
                concurrency=1 if self.engine.dialect.name == "sqlite" else s.consumer_concurrency,
                client_options=client_options(s),
                tracer=self.tracing.tracer,
            )
        )

    def envelope(self, event: Event, cause: Envelope | None = None) -> Envelope:
        """Wrap an event as a CloudEvent from this service, in the trace of what caused it."""
        ce_id = new_event_id()
        parent = parent_of(cause) if cause is not None else None  # None: the current span
        trace = created(self.tracing.tracer, event, ce_id, parent)
        return Envelope(data=event, source=self.source, id=ce_id, traceparent=trace)

    def transaction(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        """One unit of work (`leadflow.uow`): committed when the block ends, rolled back when
        it raises. Its events are this service's (`envelope`); a commit that wrote events
        hands them to the relay and wakes it, others leave it asleep."""
        return unit_of_work(self.sessions, envelope=self.envelope, relay=self.relay)

    def group_commit(self, name: str, flush: Flush[T, R]) -> GroupCommit[T, R]:
        """This process's group commit called `name`, made with `flush` on first use."""
        found = self._groups.get(name)
        if found is None:
            found = self._groups[name] = GroupCommit(self.transaction, flush)
        return cast(GroupCommit[T, R], found)

    async def start(self) -> None:
        """Start the relay, the consumers and the workers. After a `stop` the runtime may be
        started again (a test client runs an app's lifespan once per test); `stop` forgets the
        earlier run's tasks (a stuck one is logged there), so `stuck` never reports one."""
        if self._tasks:
            raise RuntimeError("this runtime is running; stop it before starting it again")
        self.relay.rearm()
        for consumer in self.consumers:
            consumer.rearm()
        self.tracing.start()
        self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        for consumer in self.consumers:
            self._tasks.append(
                asyncio.create_task(consumer.run(), name=f"consume-{consumer.group}")
            )
        for name, worker in self.workers:
            self._tasks.append(asyncio.create_task(worker(), name=name))

    async def stop(self) -> None:
        """Drain: consumers finish the message in hand and commit, the relay flushes."""
        for consumer in self.consumers:
            consumer.stop()
        consumer_tasks = [t for t in self._tasks if t.get_name().startswith("consume-")]
        await asyncio.wait(consumer_tasks, timeout=20) if consumer_tasks else None
        self.relay.stop()
        for task in self._tasks:
            if not task.done():
                task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            for task in stuck:  # a shutdown must end: say what would not, and go on
                trace = io.StringIO()
                task.print_stack(file=trace)
                log.warning("task %s did not stop: %s", task.get_name(), trace.getvalue())
        self._tasks.clear()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.relay.publish_pending()
        for step, closing in (("producer", self.producer.stop), ("database", self.engine.dispose)):
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await closing()
            except TimeoutError:
                log.warning("closing the %s took over %.0f s; going on", step, STOP_SECONDS)
        if self.relay_engine is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_SECONDS):
                    await self.relay_engine.dispose()
        await asyncio.to_thread(self.tracing.shutdown)  # exports what is queued

    def stuck(self) -> str | None:
        """Why this process should be restarted, if it should: a worker died or stopped moving."""
        for task in self._tasks:
            if task.done() and not task.cancelled():
                return f"worker {task.get_name()} ended"
        now = time.monotonic()
        for consumer in self.consumers:
            if now - consumer.last_progress > STUCK_AFTER_SECONDS:
                return f"consumer {consumer.group} made no progress for {STUCK_AFTER_SECONDS:.0f} s"
        if self._tasks:  # a relay that is not running is not stuck
            return self.relay.stuck_for(self.settings.relay_stuck_after_seconds)
        return None

    async def check_database(self) -> None:
        async with asyncio.timeout(2):
            await ping(self.engine)

    async def check_kafka(self) -> None:
        await self.producer.check()


def create_app(
    runtime: Runtime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    version: str = "0.1.0",
) -> FastAPI:
    """The service's FastAPI app: kernel basics, its routers, the runtime in the lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        log.info("started", extra={"port": runtime.settings.http_port})
        try:
            yield
        finally:
            await runtime.stop()
            log.info("stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load scripts from a CDN: `install_docs` serves its own
        redoc_url=None,
    )
    app.state.settings = runtime.settings
    app.state.runtime = runtime
    runtime.workers.append(("token-revocations", install_access(app)))  # roles and tokens
    if runtime.settings.dlq_gauge_seconds:  # dead letters waiting for a replay
        runtime.workers.append(("dlq-gauge", dlq_gauge(runtime)))
    install_error_handlers(app)
    app.add_middleware(
        Edge, tracer=runtime.tracing.tracer, max_body_bytes=runtime.settings.max_body_bytes
    )
    kafka = {"kafka": runtime.check_kafka}
    needs_kafka = not runtime.settings.ready_without_kafka
    app.include_router(
        health_router(
            {
                "database": runtime.check_database,
                "tokens": access_of(app.state).check_ready,  # revocations read (access_follower)
                **(kafka if needs_kafka else {}),
            },
            liveness=runtime.stuck,
            degradable=None if needs_kafka else kafka,
        )
    )
    for router in routers:
        app.include_router(router)
    document_problems(app)  # errors are problem+json in the OpenAPI document too
    install_docs(app)
    allow_every_method(app)
    return app
