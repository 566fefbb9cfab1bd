"""Topic configs for erasure on the log: new topics get them, existing ones are altered."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import UnknownTopicOrPartitionError

from leadflow.events import PII_TOPICS, TOPICS
from leadflow.kafka import ensure_topics
from leadflow.topic_config import align_configs, current_configs, wanted_configs

pytestmark = pytest.mark.kafka

NAMES = ("cleanup.policy", "segment.ms", "max.compaction.lag.ms", "retention.ms")


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


def test_personal_data_topics_and_every_dlq_are_compacted_the_others_left_alone() -> None:
    for topic in TOPICS:
        configs = wanted_configs(topic, 60)
        if topic in PII_TOPICS:
            assert configs["cleanup.policy"] == "compact,delete"
            assert configs["segment.ms"] == configs["max.compaction.lag.ms"] == "30000"
        else:
            assert configs == {}, topic  # leads.assigned, leads.outcomes, leads.erased
        assert wanted_configs(f"{topic}.dlq", 60)["cleanup.policy"] == "compact,delete"
    assert "retention.ms" not in wanted_configs("leads.captured", 60)  # the cluster's stays


async def test_topics_made_by_an_older_release_are_altered_in_place(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    pii, other = (f"erasure-cfg-{uuid.uuid4().hex[:8]}-{n}" for n in ("pii", "other"))
    # As the old release created them: delete policy, a retention a platform team set.
    await admin.create_topics(
        [NewTopic(t, 2, 1, topic_configs={"retention.ms": "123456789"}) for t in (pii, other)]
        + [NewTopic(f"{pii}.dlq", 1, 1)]
    )
    try:
        created = await ensure_topics(
            kafka_bootstrap, [pii, other], partitions=2, erasure_delay_seconds=40, pii_topics=[pii]
        )
        assert created == [f"{other}.dlq"]
        # The broker applies an alteration a moment after answering it: read until it shows.
        got = await _configs(
            admin,
            [pii, f"{pii}.dlq", other, f"{other}.dlq"],
            shown=lambda got: got[pii]["cleanup.policy"] == "compact,delete",
        )
        for topic in (pii, f"{pii}.dlq", f"{other}.dlq"):
            assert got[topic]["cleanup.policy"] == "compact,delete", topic
            assert got[topic]["segment.ms"] == "20000", topic
            assert got[topic]["max.compaction.lag.ms"] == "20000", topic
        assert got[pii]["retention.ms"] == "123456789"  # set keys only: the rest stays
        assert got[other]["cleanup.policy"] == "delete"
        assert got[other]["retention.ms"] == "123456789"
        # Up to date: nothing more to alter.
        assert await align_configs(admin, [pii, f"{pii}.dlq", other], 40, [pii]) == []
        # A new delay is applied to the existing topics too.
        assert await align_configs(admin, [pii, f"{pii}.dlq", other], 100, [pii]) == [
            pii,
            f"{pii}.dlq",
        ]
        got = await _configs(admin, [pii], shown=lambda got: got[pii]["segment.ms"] == "50000")
        assert got[pii]["segment.ms"] == "50000"
    finally:
        await admin.delete_topics([pii, other, f"{pii}.dlq", f"{other}.dlq"])


async def _configs(
    admin: AIOKafkaAdminClient,
    topics: list[str],
    shown: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """The topics' configs, once the broker knows every one of them (a new topic takes a
    moment to be described) and shows what `shown` waits for (an alteration, too, shows a
    moment after it is answered); after 10 s, whatever it shows."""
    for _ in range(100):
        try:
            got = await current_configs(admin, topics, NAMES)
            if shown(got):
                return got
        except UnknownTopicOrPartitionError:
            pass
        await asyncio.sleep(0.1)
    return await current_configs(admin, topics, NAMES)
