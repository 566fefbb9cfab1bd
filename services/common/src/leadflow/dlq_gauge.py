"""How many dead letters wait for a replay, read from Kafka now and then.

The counter `leadflow_dlq_published_total` says when an event was dead-lettered; an alert on
it stops firing once the window has passed, while the event still waits. This gauge says
how many messages of each DLQ the replay has not handled yet (`leadflow dlq replay`
advances the mark it reads, `cli_kafka.dlq_sizes`), so that "a DLQ is not empty" can page
for as long as it is true. Each service reports the DLQs of the topics it consumes; several
services consume some topics, so alerts take the `max` by topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from leadflow.cli_kafka import dlq_sizes
from leadflow.events import dlq_topic
from leadflow.kafka import client_options
from leadflow.observability import DLQ_PENDING
from leadflow.schedule import Worker, every

if TYPE_CHECKING:
    from leadflow.bus import EventConsumer
    from leadflow.settings import Settings

# One pass asks Kafka for two things (offsets, the replay group's marks): bounded, so that a
# broker that does not answer leaves the gauge as it was and the next pass tries again.
PASS_SECONDS = 30.0


async def pending_replay(
    bootstrap: str, topics: list[str], options: dict[str, Any] | None = None
) -> dict[str, int]:
    """Per topic (as consumed), the messages of its DLQ not replayed yet."""
    sizes = await dlq_sizes(bootstrap, topics=[dlq_topic(t) for t in topics], options=options)
    return {s.topic.removesuffix(".dlq"): s.pending_replay for s in sizes}


class Consuming(Protocol):
    """What the gauge reads of a service's runtime (`service.Runtime` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def consumers(self) -> Sequence[EventConsumer]: ...


def dlq_gauge(runtime: Consuming) -> Worker:
    """A worker setting `leadflow_dlq_pending_replay` every `dlq_gauge_seconds`."""
    settings = runtime.settings

    async def measure() -> None:
        topics = sorted({t for consumer in runtime.consumers for t in consumer.topics})
        if not topics:
            return
        async with asyncio.timeout(PASS_SECONDS):
            pending = await pending_replay(
                settings.kafka_bootstrap, topics, client_options(settings)
            )
        for topic, count in pending.items():
            DLQ_PENDING.labels(topic).set(count)

    return every(settings.dlq_gauge_seconds, measure)
