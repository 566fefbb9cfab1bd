"""Kafka plumbing: a producer that (re)connects lazily, topic creation, broker reachability."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from leadflow.events import TOPICS, dlq_topic
from leadflow.settings import KafkaSettings

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 6


def client_options(settings: KafkaSettings | None) -> dict[str, Any]:
    """aiokafka keyword arguments for the cluster's security settings (none for PLAINTEXT)."""
    if settings is None or settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.get_secret_value() if password else None,
        )
    return options


class ProducerHolder:
    """One idempotent producer per process, started on first use and after failures.

    The service must start (and accept leads) while Kafka is away, so nothing connects in
    the constructor; `get()` connects when it can and raises while it can't.
    """

    def __init__(
        self, bootstrap: str, *, client_id: str, options: dict[str, Any] | None = None
    ) -> None:
        self._bootstrap = bootstrap
        self._client_id = client_id
        self._options = options or {}
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    client_id=self._client_id,
                    enable_idempotence=True,  # implies acks=all; retries keep per-partition order
                    linger_ms=2,
                    request_timeout_ms=15000,
                    max_request_size=1_048_576,
                    **self._options,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
        return self._producer

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def check(self, timeout: float = 2.0) -> None:
        """Raise unless the broker answers a metadata request within `timeout` seconds."""
        producer = await asyncio.wait_for(self.get(), timeout)
        ok = await asyncio.wait_for(producer.client.force_metadata_update(), timeout)
        if not ok:
            raise ConnectionError("Kafka metadata request failed")

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is pending

    async def reset(self) -> None:
        """Drop a producer that failed; the next `get()` starts a fresh one.

        After a broker restart an idempotent producer can be left fenced or out of sequence
        (OutOfOrderSequenceNumber) for good; a new producer id starts clean. Whatever it had
        not confirmed is still unsent in the outbox and is published again.
        """
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), timeout=5)


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str] = TOPICS,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
    with_dlq: bool = True,
    options: dict[str, Any] | None = None,
) -> list[str]:
    """Create the contract's topics (and their DLQs) if missing; return those created."""
    wanted = list(topics)
    if with_dlq:
        wanted += [dlq_topic(t) for t in wanted]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="leadflow-topics", **(options or {})
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: list[str] = []
        for name in missing:
            try:
                await admin.create_topics([NewTopic(name, partitions, replication)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process won the race; fine
        return created
    finally:
        await admin.close()
