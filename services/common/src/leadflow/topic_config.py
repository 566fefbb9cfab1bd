"""Topic configs for erasure on the event log, and bringing existing topics up to them.

The topics that carry a person's data (`PII_TOPICS`) and every DLQ are compacted as well as
deleted by age: a tombstone (the lead's key, a null value) removes the older records of
its key once the segment that holds them is closed and cleaned. Kafka rolls a segment only
when a record is appended after `segment.ms`, so the services append a second tombstone
after that time (erasure_log.py); `max.compaction.lag.ms` then makes the closed segment due
for cleaning whatever its dirty ratio, and the broker's cleaner picks it up within its
`log.cleaner.backoff.ms`. Existing topics are altered with IncrementalAlterConfigs, which
sets only the named keys (AlterConfigs would reset every other override of the topic).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable
from typing import Any, TypeAlias

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import UnknownTopicOrPartitionError, for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Schema, String

from leadflow.events import PII_TOPICS

TOPIC_RESOURCE = ConfigResourceType.TOPIC.value
_SET = 0
# How long a tombstone itself stays readable: consumers that were away that long still see
# it (it holds no personal data: the key is the lead id).
TOMBSTONE_RETENTION_MS = 86_400_000


def segment_ms(erasure_delay_seconds: int) -> int:
    """The segment time for an erasure delay: half of it, the other half being the
    broker's cleaner back-off (15 s by default) and the cleaning itself."""
    return erasure_delay_seconds * 1000 // 2


def second_tombstone_after(erasure_delay_seconds: int) -> float:
    """Seconds after a tombstone when the next record on its partition rolls its segment."""
    return segment_ms(erasure_delay_seconds) / 1000 + 1.0


def erasure_configs(erasure_delay_seconds: int) -> dict[str, str]:
    """The configs a topic holding personal data (or a DLQ) must have."""
    segment = str(segment_ms(erasure_delay_seconds))
    return {
        "cleanup.policy": "compact,delete",
        "segment.ms": segment,
        "max.compaction.lag.ms": segment,
        "delete.retention.ms": str(TOMBSTONE_RETENTION_MS),
    }


def wanted_configs(
    topic: str, erasure_delay_seconds: int, pii_topics: Collection[str] = PII_TOPICS
) -> dict[str, str]:
    """What `topic` must have set: erasure configs for personal-data topics and DLQs, nothing
    for the others (their retention and any other setting stay the cluster's)."""
    if topic in pii_topics or topic.endswith(".dlq"):
        return erasure_configs(erasure_delay_seconds)
    return {}


class _IncrementalAlterConfigsResponse_v0(Response):  # type: ignore[misc]
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "responses",
            Array(
                ("error_code", Int16),
                ("error_message", String("utf-8")),
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
            ),
        ),
    )


class _IncrementalAlterConfigsRequest_v0(RequestStruct):  # type: ignore[misc]
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = _IncrementalAlterConfigsResponse_v0
    SCHEMA = Schema(
        (
            "resources",
            Array(
                ("resource_type", Int8),
                ("resource_name", String("utf-8")),
                (
                    "configs",
                    Array(
                        ("name", String("utf-8")),
                        ("config_operation", Int8),
                        ("value", String("utf-8")),
                    ),
                ),
            ),
        ),
        ("validate_only", Boolean),
    )


_Struct: TypeAlias = _IncrementalAlterConfigsRequest_v0


class _IncrementalAlterConfigs(Request[_Struct]):  # type: ignore[misc]
    """Set named configs of topics, leaving the others as they are (KIP-339)."""

    API_KEY = 44

    def __init__(self, changes: dict[str, dict[str, str]]) -> None:
        self._resources = [
            (TOPIC_RESOURCE, topic, [(k, _SET, v) for k, v in configs.items()])
            for topic, configs in changes.items()
        ]

    def build(self, request_struct_class: type[_Struct]) -> _Struct:
        return request_struct_class(self._resources, False)


async def current_configs(
    admin: AIOKafkaAdminClient, topics: Iterable[str], names: Collection[str]
) -> dict[str, dict[str, str | None]]:
    """The values of configs `names` of each topic, as the broker applies them."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, t, dict.fromkeys(names)) for t in topics]
    if not resources:
        return {}
    out: dict[str, dict[str, str | None]] = {}
    for response in await admin.describe_configs(resources):
        for resource in response.resources:
            error_code, _, _, name, entries = resource[:5]
            if error_code:
                raise for_code(error_code)(f"describing {name}")
            out[name] = {entry[0]: entry[1] for entry in entries}
    return out


async def align_configs(
    admin: AIOKafkaAdminClient,
    topics: Iterable[str],
    erasure_delay_seconds: int,
    pii_topics: Collection[str] = PII_TOPICS,
) -> list[str]:
    """Set the erasure configs on the topics whose values differ; return those altered."""
    wanted = {t: c for t in topics if (c := wanted_configs(t, erasure_delay_seconds, pii_topics))}
    names = {name for configs in wanted.values() for name in configs}
    for _ in range(50):  # a topic just created (by another process) takes a moment to show
        try:
            current = await current_configs(admin, wanted, names)
            break
        except UnknownTopicOrPartitionError:
            await asyncio.sleep(0.1)
    else:
        current = await current_configs(admin, wanted, names)
    changes = {
        t: {k: v for k, v in configs.items() if current.get(t, {}).get(k) != v}
        for t, configs in wanted.items()
    }
    changes = {t: c for t, c in changes.items() if c}
    if not changes:
        return []
    # aiokafka has no public call for IncrementalAlterConfigs
    response: Any = await admin._send_request(_IncrementalAlterConfigs(changes))
    for error_code, message, _, name in response.responses:
        if error_code:
            raise for_code(error_code)(f"altering {name}: {message}")
    return sorted(changes)
