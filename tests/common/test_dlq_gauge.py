"""`leadflow_dlq_pending_replay`: dead letters a DLQ holds that no replay has handled yet, for
as long as they wait (the "DLQ not empty" alert reads it; issue 20)."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from kernel_app import make_settings
from prometheus_client import REGISTRY

from leadflow.cli_kafka import REPLAY_GROUP
from leadflow.dlq_gauge import dlq_gauge, pending_replay
from leadflow.events import dlq_topic
from leadflow.kafka import ensure_topics

pytestmark = pytest.mark.kafka


async def _mark_replayed(bootstrap: str, tp: TopicPartition, offset: int) -> None:
    """What `leadflow dlq replay` leaves behind: the replay group's mark on the partition."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=REPLAY_GROUP)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.commit({tp: offset})
    finally:
        await consumer.stop()


def _gauge(topic: str) -> float | None:
    return REGISTRY.get_sample_value("leadflow_dlq_pending_replay", {"topic": topic})


async def test_the_gauge_counts_dead_letters_until_a_replay_has_handled_them(
    kafka_bootstrap: str,
) -> None:
    topic = f"dlq-gauge-{uuid.uuid4().hex[:8]}.leads.captured"
    await ensure_topics(kafka_bootstrap, [topic], partitions=1, pii_topics=())
    try:
        assert await pending_replay(kafka_bootstrap, [topic]) == {topic: 0}
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for n in range(3):
                await producer.send_and_wait(dlq_topic(topic), b"{}", key=f"k/{n}".encode())
        finally:
            await producer.stop()
        assert await pending_replay(kafka_bootstrap, [topic]) == {topic: 3}
        await _mark_replayed(kafka_bootstrap, TopicPartition(dlq_topic(topic), 0), 2)
        assert await pending_replay(kafka_bootstrap, [topic]) == {topic: 1}

        # The worker reports the DLQs of the topics the service's consumers read.
        settings = make_settings("sqlite+aiosqlite://", kafka_bootstrap, dlq_gauge_seconds=0.1)
        runtime: Any = SimpleNamespace(
            settings=settings, consumers=[SimpleNamespace(topics=[topic])]
        )
        worker = asyncio.create_task(dlq_gauge(runtime)())
        try:
            async with asyncio.timeout(30):
                while _gauge(topic) != 1:
                    await asyncio.sleep(0.05)
            await _mark_replayed(kafka_bootstrap, TopicPartition(dlq_topic(topic), 0), 3)
            async with asyncio.timeout(30):
                while _gauge(topic) != 0:
                    await asyncio.sleep(0.05)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic, dlq_topic(topic)])
        finally:
            await admin.close()
