"""Kafka plumbing: a producer that (re)connects lazily, the default partitioner made cheaper,
publishing in record batches, topic creation, broker reachability."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import struct
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from leadflow.events import PII_TOPICS, TOPICS, dlq_topic
from leadflow.settings import KafkaSettings, Settings
from leadflow.topic_config import align_configs, wanted_configs

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 6


def client_options(settings: KafkaSettings | None) -> dict[str, Any]:
    """aiokafka keyword arguments for the cluster's security settings (none for PLAINTEXT)."""
    if settings is None or settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,  # mTLS: the broker authenticates us by it
            keyfile=settings.kafka_ssl_keyfile,
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password.get_secret_value() if password else None,
        )
    return options


def follower_consumer(
    settings: Settings, name: str, *, group: str | None, **options: Any
) -> AIOKafkaConsumer:
    """A consumer for one of a service's own followers (the lab's requests, the token
    records): client id `<service>-<name>`, offsets committed by hand (never, without a
    group), from the earliest record when none is committed, with the cluster's security."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-{name}",
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
        **client_options(settings),
    )


_M = 0x5BD1E995


@functools.lru_cache(maxsize=16_384)  # a lead's events are sent close together
def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of a key, as the Java client (and aiokafka's default partitioner)
    computes it, reading the key four bytes at a time."""
    length = len(data)
    h = 0x9747B28C ^ length
    for word in struct.unpack_from(f"<{length // 4}I", data):
        k = (word * _M) & 0xFFFFFFFF
        k ^= k >> 24
        h = ((h * _M) & 0xFFFFFFFF) ^ ((k * _M) & 0xFFFFFFFF)
    tail = length & ~3
    extra = length & 3
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h = ((h ^ data[tail]) * _M) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


def partition_for(
    key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
) -> int:
    """The partition of a key: the Java client's (and aiokafka's) default choice, so a key
    lands where any Kafka producer would put it; a missing key goes anywhere available."""
    if key is None:
        return random.choice(available or all_partitions)
    return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]


# topic, key, value, headers
Message = tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]  # None: a tombstone


async def send_in_batches(producer: AIOKafkaProducer, messages: list[Message]) -> list[Any]:
    """Queue messages in order as record batches, one open batch per partition; return the
    futures of their delivery. Cheaper than a `send` per message, in the same order."""
    partitions: dict[str, list[int]] = {}
    open_batches: dict[tuple[str, int], Any] = {}
    futures = []
    for topic, key, value, headers in messages:
        if (known := partitions.get(topic)) is None:
            known = partitions[topic] = sorted(await producer.partitions_for(topic))
        p = partition_for(key, known, known)
        batch = open_batches.get((topic, p))
        if batch is None:
            batch = open_batches[topic, p] = producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
            futures.append(await producer.send_batch(batch, topic, partition=p))
            batch = open_batches[topic, p] = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None, headers=headers)  # one fits
    for (topic, p), batch in open_batches.items():
        futures.append(await producer.send_batch(batch, topic, partition=p))
    return futures


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
                    # Record batches of up to 256 KiB rather than 16 KiB: the relay publishes
                    # hundreds of events at once, and each batch costs the client and the
                    # broker about the same whatever its size (docs/decisions.md).
                    max_batch_size=262_144,
                    partitioner=partition_for,
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
        async with asyncio.timeout(timeout):
            producer = await self.get()
        async with asyncio.timeout(timeout):
            ok = await producer.client.force_metadata_update()
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
                async with asyncio.timeout(5):
                    await producer.stop()


async def stop_quietly(client: AIOKafkaConsumer | AIOKafkaProducer, name: str) -> None:
    """Stop a client within 5 s; failing to (one that never started, a broker gone) is only
    logged: the follower that owns it is about to retry or to end."""
    try:
        async with asyncio.timeout(5):
            await client.stop()
    except Exception:
        log.debug("%s stop failed", name, exc_info=True)


# Token revocations (access_api.py): keyed by token id, compacted so the topic keeps one
# record per revoked token for as long as needed; every replica reads it from the start.
TOKENS_TOPIC = "leadflow.tokens"
# The what-if lab's requests and reports (leadflow/lab.py): keyed by simulation id, deleted
# after a week (a report is kept in feedback's table; the topic only carries it there).
LAB_TOPIC = "leadflow.lab"
LAB_RETENTION_MS = 7 * 86_400_000
INTERNAL_TOPICS: dict[str, dict[str, str]] = {
    TOKENS_TOPIC: {"cleanup.policy": "compact"},
    LAB_TOPIC: {"cleanup.policy": "delete", "retention.ms": str(LAB_RETENTION_MS)},
}
# Internal topics every prefix shares: a token is the cluster's. The lab's topic is a
# deployment's own (prefixed), so two stacks on one broker never answer each other's requests.
SHARED_TOPICS = frozenset({TOKENS_TOPIC})


def physical_topic(topic: str, prefix: str) -> str:
    """The topic as named on the broker: `prefix` + the contract's name (once); the shared
    internal topics (role tokens) are the same for every prefix."""
    if not prefix or topic.startswith(prefix) or topic in SHARED_TOPICS:
        return topic
    return prefix + topic


async def ensure_topics(
    bootstrap: str,
    topics: Iterable[str] = TOPICS,
    *,
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
    with_dlq: bool = True,
    options: dict[str, Any] | None = None,
    erasure_delay_seconds: int = KafkaSettings.model_fields["erasure_delay_seconds"].default,
    pii_topics: Collection[str] = PII_TOPICS,
    prefix: str = "",
) -> list[str]:
    """Create the contract's topics (and their DLQs) and the internal topics (one
    partition each) if missing; return those created. `prefix`: see `physical_topic`."""
    wanted = [physical_topic(t, prefix) for t in topics]
    pii_topics = [physical_topic(t, prefix) for t in pii_topics]
    if with_dlq:
        wanted += [dlq_topic(t) for t in wanted]
    internal_topics = {physical_topic(t, prefix): c for t, c in INTERNAL_TOPICS.items()}
    wanted += [t for t in internal_topics if t not in wanted]
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
                internal = internal_topics.get(name)
                count = 1 if internal is not None else partitions
                configs = internal or wanted_configs(name, erasure_delay_seconds, pii_topics)
                await admin.create_topics(
                    [NewTopic(name, count, replication, topic_configs=configs)]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process won the race (or the list was not up to date yet)
        # Topics made by an older release (or by hand, or by that race) get the erasure
        # configs too.
        altered = await align_configs(
            admin, [t for t in wanted if t not in created], erasure_delay_seconds, pii_topics
        )
        if altered:
            log.info("topic configs altered for erasure", extra={"topics": altered})
        return created
    finally:
        await admin.close()
