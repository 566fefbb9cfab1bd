"""Plain aiokafka helpers for tests: snapshot offsets, read what came after, place a group;
wait until a condition holds (`eventually`, `settled`)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

T = TypeVar("T")


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    """Current end of every partition of `topics`."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
        ]
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()


async def place_group_at_end(bootstrap: str, group: str, topics: list[str]) -> None:
    """Commit the current end offsets for `group`, so it consumes only what comes next.

    A topic created a moment ago can be missing from a busy broker's first metadata answers
    (seen with parallel test workers): its partitions are asked for again, for up to 15 s."""
    deadline = time.monotonic() + 15.0
    offsets = await end_offsets(bootstrap, topics)
    while {tp.topic for tp in offsets} != set(topics) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        offsets = await end_offsets(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(offsets)
    finally:
        await consumer.stop()


async def read_after(
    bootstrap: str,
    start: dict[TopicPartition, int],
    until: Callable[[list[Any]], bool],
    *,
    keep: Callable[[Any], bool] | None = None,
    timeout: float = 30.0,
) -> list[Any]:
    """Messages written after `start` (an `end_offsets` snapshot), until `until(messages)`;
    only those `keep` keeps, if given: on the shared topics every other test's events come
    too, and an `until` that looks at all of them on each batch grows quadratic."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    got: list[Any] = []
    try:
        consumer.assign(list(start))
        for tp, off in start.items():
            consumer.seek(tp, off)
        deadline = time.monotonic() + timeout
        while not until(got):
            if time.monotonic() > deadline:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for msgs in batch.values():
                got.extend(msgs if keep is None else (m for m in msgs if keep(m)))
        return got
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], bool | Awaitable[bool]], *, timeout: float = 30.0) -> None:
    """Wait until `check()` (plain or async) holds, or fail with a clear message."""
    deadline = time.monotonic() + timeout

    async def holds() -> bool:
        result = check()
        return bool(await result) if inspect.isawaitable(result) else bool(result)

    while not await holds():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


async def settled(
    fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, timeout: float = 30.0
) -> T:
    """What `fetch()` gives once `done` holds of it (fetched again until then, as `eventually`
    waits), or fail naming the last thing fetched."""
    last: list[T] = []

    async def holds() -> bool:
        last[:] = [await fetch()]
        return done(last[0])

    try:
        await eventually(holds, timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last fetched: {last[0] if last else None!r}") from None
    return last[0]


async def delete_prefixed(bootstrap: str, created: list[str], prefix: str) -> None:
    """Delete the topics a test created under its own prefix (never a shared one)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([t for t in created if t.startswith(prefix)])
    finally:
        await admin.close()
