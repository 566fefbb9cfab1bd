"""The follower that keeps each replica's revoked set, and its service's token tables, in
step with the `leadflow.tokens` topic; and when this replica may trust what it knows.

Each replica reads the compacted topic from its beginning, with no consumer group, for
ever. Before the first issued token is checked, the service's revoked table is loaded; the
replica then refuses issued tokens (503, `Retry-After: 1`) until the follower has read up to
the end offsets it saw when it connected, unless Kafka is away (`Catchup`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from leadflow import access_store as store
from leadflow.access import Access
from leadflow.http import Problem
from leadflow.kafka import TOKENS_TOPIC, follower_consumer, stop_quietly

if TYPE_CHECKING:
    from leadflow.uow import Database

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
# Reaching Kafka and reading its end offsets: longer than this counts as Kafka away.
CONNECT_SECONDS = 10.0


def apply_records(access: Access, records: Sequence[store.Issued | store.Revoked]) -> None:
    """Refuse at once the tokens these records revoke (expired ones need no entry)."""
    now = time.time()
    for record in records:
        if isinstance(record, store.Revoked) and record.until.timestamp() > now:
            access.revoked.add(record.token_id, record.until.timestamp())


async def _load_first(access: Access) -> None:
    """The revoked table, read before anything else (retried while the database is away)."""
    while True:
        try:
            await access.load_revocations()
            return
        except Problem:
            await asyncio.sleep(RETRY_SECONDS)


async def _connect(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int] | None:
    """Start `consumer` on the whole topic from its beginning; the end offsets seen now, or
    None when the topic does not exist (nothing was ever published to it)."""
    await consumer.start()
    if TOKENS_TOPIC not in await consumer.topics():  # never auto-create it
        return None
    # Partition 0 first: the consumer learns a topic's partitions once it reads it.
    consumer.assign([TopicPartition(TOKENS_TOPIC, 0)])
    partitions = consumer.partitions_for_topic(TOKENS_TOPIC) or {0}
    if len(partitions) > 1:  # made by hand with more: read them all
        consumer.assign([TopicPartition(TOKENS_TOPIC, p) for p in sorted(partitions)])
    await consumer.seek_to_beginning()
    ends: dict[TopicPartition, int] = await consumer.end_offsets(list(consumer.assignment()))
    return ends


async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def follow_tokens(access: Access, runtime: Database) -> None:
    """Load the revoked table, then read `leadflow.tokens` from the beginning and follow it
    for ever (no group, no commits: each replica needs every record), keeping each record
    in the service's tables too. While Kafka is away it retries."""
    catchup = access.catchup
    await _load_first(access)
    while True:
        consumer = follower_consumer(access.settings, "tokens", group=None)
        try:
            async with asyncio.timeout(CONNECT_SECONDS):
                ends = await _connect(consumer)
            if ends is None:
                catchup.kafka_away = True  # no topic: no revocation was ever published
                log.warning("topic %s is missing; retrying", TOKENS_TOPIC)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            catchup.kafka_away = False
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                records = [
                    parsed
                    for batch in batches.values()
                    for record in batch
                    if (parsed := store.parse_record(record.value)) is not None
                ]
                apply_records(access, records)
                if records:
                    async with runtime.transaction() as uow:
                        await store.save(uow.session, records)
                if not catchup.caught_up and await _reached(consumer, ends):
                    catchup.caught_up = True
                    log.info("token revocations read up to the end (%d)", len(access.revoked))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Kafka away or refusing: try again, never stop following
            catchup.kafka_away = True
            log.warning("following token revocations failed (%s); retrying", type(exc).__name__)
            await asyncio.sleep(RETRY_SECONDS)
        finally:
            await stop_quietly(consumer, "token follower")
