"""The lab's follower: a service reads the `leadflow.lab` topic as its own consumer group and
hands each message of the types it acts on (`lab`'s) to its handler, once per process,
committing after each record; a request it gives up on is reported `failed` at once.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from leadflow.kafka import (
    LAB_TOPIC,
    client_options,
    follower_consumer,
    physical_topic,
    stop_quietly,
)
from leadflow.lab import (
    MAX_POLL_INTERVAL_MS,
    LabMessage,
    MalformedLabMessage,
    SimulationReported,
    SimulationRequested,
    decode,
    failed,
    publish,
)
from leadflow.settings import Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
CONNECT_SECONDS = 10.0
HANDLE_ATTEMPTS = 3
# The request ids a follower remembers having handled, so one delivered again (the outbox
# relays at least once, a rebalance repeats a record) is not run twice by this process.
HANDLED_MEMORY = 10_000

Handle = Callable[[LabMessage], Awaitable[None]]


class Handled:
    """The ids of the requests handled lately (at most `size`, the least recent forgotten).

    In-process only: a restarted follower may run a repeated request again; the request's
    age (`expired`) bounds that, and the requester keeps the first final report."""

    def __init__(self, size: int = HANDLED_MEMORY) -> None:
        self._ids: OrderedDict[uuid.UUID, None] = OrderedDict()
        self._size = size

    def __contains__(self, simulation_id: object) -> bool:
        return simulation_id in self._ids

    def add(self, simulation_id: uuid.UUID) -> None:
        self._ids[simulation_id] = None
        self._ids.move_to_end(simulation_id)
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)


async def _handle_one(
    record: ConsumerRecord[Any, Any],
    types: Collection[str],
    handle: Handle,
    handled: Handled,
    service: str,
) -> SimulationReported | None:
    """Hand one record to `handle` (retried a few times); skip what cannot be read and a
    request handled already. Returns the `failed` report of a request given up on."""
    try:
        message = decode(record.value, record.headers)
    except MalformedLabMessage as exc:
        log.warning("lab message at offset %d skipped: %s", record.offset, exc)
        return None
    if message is None or message.ce_type not in types:
        return None  # another service's, or a newer release's
    request = message if isinstance(message, SimulationRequested) else None
    if request is not None and request.simulation_id in handled:
        log.info("lab request %s delivered again: handled already", request.simulation_id)
        return None
    error: Exception | None = None
    for attempt in range(1, HANDLE_ATTEMPTS + 1):
        try:
            await handle(message)
            error = None
            break
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
            log.exception("lab message %s failed (attempt %d)", message.simulation_id, attempt)
            if attempt < HANDLE_ATTEMPTS:
                await asyncio.sleep(RETRY_SECONDS)
    if request is not None:
        handled.add(request.simulation_id)
    if error is None:
        return None
    # A simulation is something a person asked for and can ask again; it is not a lead's
    # event, so it goes to no DLQ: the log says which one was dropped, the requester is told.
    log.error("lab message %s dropped after %d attempts", message.simulation_id, HANDLE_ATTEMPTS)
    if request is None:
        return None
    why = f"{service} gave up after {HANDLE_ATTEMPTS} attempts ({type(error).__name__})"
    return failed(request.simulation_id, request.kind, why)


async def _tell(settings: Settings, message: SimulationReported) -> None:
    """Publish a give-up report at once: not through the database, which may be what fails."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-lab",
        **client_options(settings),
    )
    source, prefix = f"/{settings.service_name}", settings.kafka_topic_prefix
    try:
        async with asyncio.timeout(CONNECT_SECONDS):
            await producer.start()
            await publish(producer, message, source=source, prefix=prefix)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("the failed report of lab request %s was not sent", message.simulation_id)
    finally:
        await stop_quietly(producer, "lab give-up producer")


async def follow(settings: Settings, *, group: str, types: Collection[str], handle: Handle) -> None:
    """Follow the lab topic as consumer group `group` for ever, handing each message of one
    of `types` to `handle` once and committing after each record; while Kafka (or the topic)
    is away it retries. A message that cannot be read is logged and skipped; a request given
    up on is reported `failed`."""
    topic = physical_topic(LAB_TOPIC, settings.kafka_topic_prefix)
    handled = Handled()  # outlives a consumer restarted after a rebalance or an outage
    while True:
        consumer = follower_consumer(
            settings, "lab", group=group, max_poll_interval_ms=MAX_POLL_INTERVAL_MS
        )
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                await consumer.start()
                present = topic in await consumer.topics()
            if not present:  # never auto-create it: `python -m leadflow.topics` does
                log.warning("topic %s is missing; retrying", topic)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            consumer.subscribe([topic])
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=100)
                for tp, records in batches.items():
                    for record in records:
                        gave_up = await _handle_one(
                            record, types, handle, handled, settings.service_name
                        )
                        if gave_up is not None:
                            await _tell(settings, gave_up)
                        # One by one: a rebalance during a slow handler repeats only it.
                        await consumer.commit({tp: record.offset + 1})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Kafka away or refusing: try again, never stop following
            log.warning("following %s failed (%s); retrying", topic, type(exc).__name__)
            await asyncio.sleep(RETRY_SECONDS)
        finally:
            await stop_quietly(consumer, "lab follower")


def lab_group(settings: Settings) -> str:
    """The consumer group a service follows the lab with: its own group's, suffixed."""
    return f"{settings.consumer_group}.lab"
