"""What the operator CLI asks Kafka: consumer lag, dead-letter topics, replays.

Replays are tracked in the consumer group `leadflow-dlq-replay` on the DLQ topics: its
committed offset on each DLQ partition is a low-water mark (everything below was replayed
or deliberately skipped) and the commit's metadata lists the offsets above the mark that a
selective replay (`--ce-id`, `--group`) already handled. The republished messages and that
commit go in one Kafka transaction, so a replay that crashes half-way leaves nothing
marked that was not published, and a second run never publishes a message twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadflow.events import TOPICS, dlq_topic
from leadflow.services import NAMES

REPLAY_GROUP = "leadflow-dlq-replay"
REPLAY_TXN_ID = "leadflow-dlq-replay"
REPLAYED_HEADER = "dlq_replayed"
DLQ_PREFIX = "dlq_"
# The broker keeps at most `offset.metadata.max.bytes` (4096 by default) per commit.
MAX_METADATA_CHARS = 4000


# ---------------------------------------------------------------- shapes


@dataclass(frozen=True)
class GroupLag:
    """One consumer group on one topic: committed vs end offsets, summed over partitions."""

    group: str
    topic: str
    committed: int
    end: int
    lag: int
    partitions: int
    uncommitted_partitions: int


@dataclass(frozen=True)
class DlqSize:
    """A dead-letter topic: how many messages it holds and how many await replay."""

    topic: str
    messages: int
    pending_replay: int


@dataclass(frozen=True)
class DlqMessage:
    """One dead-lettered message, as read from `<topic>.dlq`."""

    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int
    replayed: bool = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return (v or b"").decode("utf-8", "replace")
        return None

    @property
    def original_topic(self) -> str:
        return self.header("dlq_original_topic") or self.dlq_topic.removesuffix(".dlq")

    @property
    def ce_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def original_key(self) -> bytes | None:
        """The key the message had (a dead letter has a key of its own, erasure_log.py)."""
        for k, v in self.headers:
            if k == "dlq_original_key":
                return v
        return self.key  # written before dead letters had keys of their own

    @property
    def group(self) -> str | None:
        return self.header("dlq_consumer_group")

    @property
    def truncated(self) -> bool:
        return self.header("dlq_truncated") == "true"

    @property
    def size(self) -> int:
        return len(self.value) if self.value is not None else 0

    def original_headers(self) -> list[tuple[str, bytes]]:
        """The headers the message had before it failed, marked as replayed."""
        kept = [(k, v) for k, v in self.headers if not k.startswith(DLQ_PREFIX)]
        return [*kept, (REPLAYED_HEADER, b"1")]


@dataclass
class ReplayAction:
    """What `replay` did (or would do) with one DLQ message."""

    message: DlqMessage
    action: str  # replayed | already replayed | skipped: <why> | would replay


@dataclass
class ReplayReport:
    actions: list[ReplayAction] = field(default_factory=list)
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)


# ---------------------------------------------------------------- replay progress


@dataclass
class Progress:
    """The replay group's position on one DLQ partition: a mark and handled offsets above it."""

    mark: int = 0
    done: set[int] = field(default_factory=set)

    def handled(self, offset: int) -> bool:
        return offset < self.mark or offset in self.done

    def add(self, offset: int) -> None:
        self.done.add(offset)
        while self.mark in self.done:
            self.done.discard(self.mark)
            self.mark += 1

    def metadata(self) -> str:
        return json.dumps(sorted(self.done), separators=(",", ":")) if self.done else ""

    @classmethod
    def parse(cls, offset: int, metadata: str | None) -> Progress:
        done: set[int] = set()
        if metadata:
            try:
                done = {int(o) for o in json.loads(metadata) if int(o) >= offset}
            except (ValueError, TypeError):
                done = set()
        return cls(max(offset, 0), done)


# ---------------------------------------------------------------- helpers


def dlq_topics(topic: str | None = None) -> list[str]:
    """The DLQs to look at: one (given as `leads.x` or `leads.x.dlq`) or every contract one."""
    if topic:
        return [topic if topic.endswith(".dlq") else dlq_topic(topic)]
    return [dlq_topic(t) for t in TOPICS]


async def _admin(bootstrap: str, options: dict[str, Any] | None = None) -> Any:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="leadflow-cli", **(options or {})
    )
    await admin.start()
    return admin


async def _partitions(consumer: Any, topics: Iterable[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # a fresh view of every topic
    out: list[TopicPartition] = []
    for topic in topics:
        for p in sorted(consumer.partitions_for_topic(topic) or ()):
            out.append(TopicPartition(topic, p))
    return out


async def _bounds(
    bootstrap: str, topics: Iterable[str], options: dict[str, Any] | None = None
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """Beginning and end offsets of every partition of `topics` (missing topics: none)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        client_id="leadflow-cli",
        **(options or {}),
    )
    await consumer.start()
    try:
        tps = await _partitions(consumer, topics)
        if not tps:
            return {}, {}
        return dict(await consumer.beginning_offsets(tps)), dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def replay_progress(
    bootstrap: str, topics: Iterable[str], options: dict[str, Any] | None = None
) -> dict[TopicPartition, Progress]:
    """The replay group's progress on the DLQ partitions (empty where it never committed)."""
    wanted = set(topics)
    admin = await _admin(bootstrap, options)
    try:
        offsets = await admin.list_consumer_group_offsets(REPLAY_GROUP)
    finally:
        await admin.close()
    return {
        tp: Progress.parse(om.offset, om.metadata)
        for tp, om in offsets.items()
        if tp.topic in wanted and om.offset >= 0
    }


# ---------------------------------------------------------------- status


async def consumer_lag(bootstrap: str, prefixes: Iterable[str] = NAMES) -> list[GroupLag]:
    """Lag of every group named after a service (`feedback`, `feedback-blue`, …), per topic."""
    prefixes = tuple(prefixes)
    admin = await _admin(bootstrap)
    try:
        groups = sorted(
            str(g[0]) for g in await admin.list_consumer_groups() if str(g[0]).startswith(prefixes)
        )
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group)
            committed[group] = {tp: om.offset for tp, om in offsets.items()}
    finally:
        await admin.close()
    topics = {tp.topic for offsets in committed.values() for tp in offsets}
    _, ends = await _bounds(bootstrap, sorted(topics))
    rows: list[GroupLag] = []
    for group in groups:
        by_topic: dict[str, list[TopicPartition]] = {}
        for tp in ends:
            if any(c.topic == tp.topic for c in committed[group]):
                by_topic.setdefault(tp.topic, []).append(tp)
        for topic, tps in sorted(by_topic.items()):
            done = [committed[group].get(tp, -1) for tp in tps]
            end = sum(ends[tp] for tp in tps)
            lag = sum(max(0, ends[tp] - max(c, 0)) for tp, c in zip(tps, done, strict=True))
            rows.append(
                GroupLag(
                    group=group,
                    topic=topic,
                    committed=sum(max(c, 0) for c in done),
                    end=end,
                    lag=lag,
                    partitions=len(tps),
                    uncommitted_partitions=sum(1 for c in done if c < 0),
                )
            )
    return rows


async def dlq_sizes(
    bootstrap: str,
    topic: str | None = None,
    *,
    topics: Iterable[str] | None = None,
    options: dict[str, Any] | None = None,
) -> list[DlqSize]:
    """Messages held by each DLQ (end minus beginning) and those not yet replayed: of `topic`'s
    DLQ, of the DLQs named in `topics`, or of every contract topic's. `options`: the
    cluster's security settings (`kafka.client_options`)."""
    topics = list(topics) if topics is not None else dlq_topics(topic)
    begins, ends = await _bounds(bootstrap, topics, options)
    progress = await replay_progress(bootstrap, topics, options)
    out = []
    for t in topics:
        tps = [tp for tp in ends if tp.topic == t]
        held = sum(ends[tp] - begins[tp] for tp in tps)
        pending = 0
        for tp in tps:
            p = progress.get(tp, Progress())
            start = max(begins[tp], p.mark)
            pending += max(0, ends[tp] - start) - sum(1 for o in p.done if o >= start)
        out.append(DlqSize(t, held, max(0, pending)))
    return out


# ---------------------------------------------------------------- reading


async def read_dlq(
    bootstrap: str, topic: str | None = None, *, limit: int | None = None
) -> list[DlqMessage]:
    """Every message currently in the DLQ(s), oldest first per partition, up to `limit`."""
    topics = dlq_topics(topic)
    begins, ends = await _bounds(bootstrap, topics)
    progress = await replay_progress(bootstrap, topics)
    wanted = {tp: ends[tp] for tp in ends if ends[tp] > begins[tp]}
    out: list[DlqMessage] = []
    if not wanted:
        return out
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        client_id="leadflow-cli",
        fetch_max_bytes=8 * 1_048_576,
        max_partition_fetch_bytes=2 * 1_048_576,
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, begins[tp])
        position = dict(begins)
        deadline = time.monotonic() + 60
        while any(position[tp] < end for tp, end in wanted.items()):
            if time.monotonic() > deadline:
                raise TimeoutError("reading the DLQ took longer than 60 s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, msgs in batch.items():
                for m in msgs:
                    if m.offset >= wanted[tp]:
                        continue
                    if m.value is None:  # a tombstone: an erased dead letter, not one
                        continue
                    position[tp] = m.offset + 1
                    out.append(
                        DlqMessage(
                            dlq_topic=tp.topic,
                            partition=tp.partition,
                            offset=m.offset,
                            key=m.key,
                            value=m.value,
                            headers=tuple(m.headers or ()),
                            timestamp_ms=m.timestamp,
                            replayed=progress.get(tp, Progress()).handled(m.offset),
                        )
                    )
                if msgs:
                    position[tp] = max(position[tp], msgs[-1].offset + 1)
            for tp in wanted:  # compacted or aborted gaps: the consumer's position moved on
                position[tp] = max(position[tp], await consumer.position(tp))
    finally:
        await consumer.stop()
    out.sort(key=lambda m: (m.timestamp_ms, m.dlq_topic, m.partition, m.offset))
    return out[:limit] if limit is not None else out


# ---------------------------------------------------------------- replay


Selector = Callable[[DlqMessage], bool]


def selector(*, ce_id: str | None, group: str | None) -> Selector:
    def chosen(m: DlqMessage) -> bool:
        if ce_id is not None and m.ce_id != ce_id:
            return False
        return group is None or m.group == group

    return chosen


async def replay(
    bootstrap: str,
    chosen: Selector,
    *,
    topic: str | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Republish the chosen, not yet replayed DLQ messages to their original topics.

    Original key, bytes and headers (minus `dlq_*`, plus `dlq_replayed=1`). Several DLQ
    copies of one original message (one per consumer group that failed it) are published
    once per run. Truncated values are never replayed (the original bytes are gone).
    """
    topics = dlq_topics(topic)
    messages = sorted(
        await read_dlq(bootstrap, topic), key=lambda m: (m.dlq_topic, m.partition, m.offset)
    )
    progress = await replay_progress(bootstrap, topics)
    report = ReplayReport(dry_run=dry_run)
    todo: list[ReplayAction] = []
    for m in messages:
        tp = TopicPartition(m.dlq_topic, m.partition)
        if not chosen(m):
            continue
        if progress.setdefault(tp, Progress()).handled(m.offset):
            report.actions.append(ReplayAction(m, "already replayed"))
            continue
        todo.append(ReplayAction(m, "would replay" if dry_run else "replayed"))
    seen: set[tuple[str, str, str]] = set()
    for action in todo:
        m = action.message
        origin = (
            m.original_topic,
            m.header("dlq_original_partition") or "",
            m.header("dlq_original_offset") or "",
        )
        if m.truncated:
            action.action = "skipped: value truncated in the DLQ"
        elif m.value is None:
            action.action = "skipped: no value"
        elif origin in seen and all(origin[1:]):
            action.action = "skipped: same original as another replayed copy"
        seen.add(origin)
    report.actions.extend(todo)
    if dry_run or not todo:
        return report
    touched: dict[TopicPartition, Progress] = {}
    for action in todo:
        tp = TopicPartition(action.message.dlq_topic, action.message.partition)
        touched[tp] = progress[tp]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="leadflow-dlq-replay",
        transactional_id=REPLAY_TXN_ID,
        enable_idempotence=True,
        max_request_size=2 * 1_048_576,
    )
    await producer.start()
    try:
        async with producer.transaction():
            for action in todo:
                m = action.message
                if action.action == "replayed":
                    await producer.send(
                        m.original_topic,
                        value=m.value,
                        key=m.original_key,
                        headers=m.original_headers(),
                    )
                touched[TopicPartition(m.dlq_topic, m.partition)].add(m.offset)
            offsets = {tp: _commit_value(p) for tp, p in touched.items()}
            await producer.send_offsets_to_transaction(offsets, REPLAY_GROUP)
    finally:
        await producer.stop()
    await _until_visible(bootstrap, topics, touched)
    return report


async def _until_visible(
    bootstrap: str, topics: list[str], touched: dict[TopicPartition, Progress]
) -> None:
    """Return once the group's offsets show this replay: the coordinator answers with the
    offsets from before a transaction until its commit marker is written, and a replay run
    right after must not publish the same messages again."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = await replay_progress(bootstrap, topics)
        if all(
            (seen.get(tp, Progress()).mark, seen.get(tp, Progress()).done) == (p.mark, p.done)
            for tp, p in touched.items()
        ):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the replay was committed, but its progress is not readable yet")


def _commit_value(p: Progress) -> tuple[int, str]:
    meta = p.metadata()
    if len(meta) > MAX_METADATA_CHARS:
        raise RuntimeError(
            "too many selectively replayed messages above the oldest pending one; "
            "replay with --all (or the oldest ones) first"
        )
    return p.mark, meta
