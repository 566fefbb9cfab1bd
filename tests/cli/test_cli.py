"""The operator CLI: parsing and output, and `dlq list|replay` against the real broker.

Kafka tests use a private topic (and its `.dlq`) per test, so replaying "everything" never
touches what other tests or services dead-lettered on the shared broker.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from leadflow import cli_kafka
from leadflow.bus import EventConsumer
from leadflow.cli import app, probe_result
from leadflow.db import session_factory
from leadflow.events import Envelope, LeadErased, dlq_topic
from leadflow.kafka import ProducerHolder, ensure_topics
from leadflow.outbox import kernel_metadata
from support.kafka_tools import end_offsets, place_group_at_end, read_after

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env={**WIDE, **(env or {})})


# ---------------------------------------------------------------- parsing, no Kafka


def test_help_lists_every_command() -> None:
    r = invoke("--help")
    assert r.exit_code == 0
    for command in ("status", "dlq", "demo", "reps"):
        assert command in r.output
    r = invoke("dlq", "--help")
    assert "list" in r.output
    assert "replay" in r.output


def test_replay_needs_exactly_one_of_ce_id_or_all() -> None:
    r = invoke("dlq", "replay", "--bootstrap", "127.0.0.1:1")
    assert r.exit_code == 2
    assert "exactly one of --ce-id X or --all" in r.output
    r = invoke("dlq", "replay", "--all", "--ce-id", "x", "--bootstrap", "127.0.0.1:1")
    assert r.exit_code == 2


def test_status_reports_unreachable_services_and_kafka_and_exits_1() -> None:
    dead = "http://127.0.0.1:1"
    r = invoke(
        "status",
        "--bootstrap",
        "127.0.0.1:1",
        "--intake-url",
        dead,
        "--scoring-url",
        dead,
        "--assignment-url",
        dead,
        "--feedback-url",
        dead,
        "--timeout",
        "0.5",
    )
    assert r.exit_code == 1
    assert "marketing-intake" in r.output
    assert "unreachable" in r.output
    assert "Kafka at 127.0.0.1:1" in r.output


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"status": "ok"}, (True, "ok")),
        (200, {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}, (True, "ok")),
        (
            200,
            {"status": "degraded", "degraded": ["kafka"],
             "checks": {"database": "ok", "kafka": "unavailable: KafkaConnectionError"}},
            (True, "degraded (kafka: unavailable: KafkaConnectionError)"),
        ),
        (
            503,
            {"status": 503, "checks": {"database": "unavailable: OSError", "kafka": "ok"}},
            (False, "503 database: unavailable: OSError"),
        ),
        (503, {"detail": "relay stuck"}, (False, "503 relay stuck")),
        (502, "not json", (False, "502")),
    ],
)  # fmt: skip
def test_status_reads_ready_degraded_and_down(
    status: int, body: object, expected: tuple[bool, str]
) -> None:
    assert probe_result(status, body) == expected


def test_reps_import_needs_a_token_and_a_readable_file(tmp_path: Path) -> None:
    r = invoke("reps", "import", str(tmp_path / "nope.csv"), env={"LEADFLOW_ADMIN_TOKEN": ""})
    assert r.exit_code != 0
    r = invoke("reps", "import", str(tmp_path / "nope.csv"), "--token", "t")
    assert r.exit_code == 2
    assert "cannot read" in r.output


def test_replay_progress_is_a_mark_plus_offsets_above_it() -> None:
    p = cli_kafka.Progress.parse(3, "[5,7]")
    assert p.handled(2)
    assert not p.handled(3)
    assert p.handled(5)
    assert not p.handled(6)
    p.add(3)
    p.add(4)  # 3, 4, 5 contiguous: the mark moves past them
    assert p.mark == 6
    assert p.done == {7}
    assert p.metadata() == "[7]"
    p.add(6)
    assert p.mark == 8
    assert p.metadata() == ""
    assert cli_kafka.Progress.parse(10, "[5,12]").done == {12}  # stale entries dropped
    assert cli_kafka.Progress.parse(0, "garbage").done == set()


def test_dlq_topic_names() -> None:
    assert cli_kafka.dlq_topics("leads.captured") == ["leads.captured.dlq"]
    assert cli_kafka.dlq_topics("leads.captured.dlq") == ["leads.captured.dlq"]
    assert len(cli_kafka.dlq_topics()) == 6


# ---------------------------------------------------------------- the real broker


class Poison:
    """A private topic, two consumer groups on it, and poison messages they dead-letter."""

    def __init__(self, bootstrap: str, tmp: Path) -> None:
        self.bootstrap = bootstrap
        self.topic = f"cli-test-{uuid.uuid4().hex[:10]}"
        self.groups = [f"cli-test-a-{uuid.uuid4().hex[:6]}", f"cli-test-b-{uuid.uuid4().hex[:6]}"]
        self.db = f"sqlite+aiosqlite:///{tmp}/consumers.db"
        self.sent: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []

    async def setup(self) -> None:
        await ensure_topics(self.bootstrap, [self.topic], partitions=3)
        for g in self.groups:
            await place_group_at_end(self.bootstrap, g, [self.topic])

    async def produce(self) -> None:
        """Malformed JSON (with ce headers), an unknown ce_type, no headers at all."""
        good = Envelope(
            data=LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)), source="/t"
        )
        unknown = Envelope(
            data=LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)), source="/t"
        )
        unknown_headers = [
            (k, b"io.example.unknown.v9" if k == "ce_type" else v) for k, v in unknown.headers()
        ]
        self.sent = [
            (good.key, b'{"lead_id": "not json', good.headers()),
            (unknown.key, unknown.value(), unknown_headers),
            (str(uuid.uuid4()).encode(), b'{"email": "someone@example.com"}', []),
        ]
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            for key, value, headers in self.sent:
                await producer.send_and_wait(self.topic, value, key=key, headers=headers)
        finally:
            await producer.stop()

    async def consume_until_dead_lettered(self) -> None:
        """Run the kernel's consumer loop as both groups until each dead-lettered all three."""
        start = await end_offsets(self.bootstrap, [dlq_topic(self.topic)])
        engine = create_async_engine(self.db)
        async with engine.begin() as conn:  # the consumer records each dead letter's key
            await conn.run_sync(kernel_metadata.create_all)
        holder = ProducerHolder(self.bootstrap, client_id="cli-test")
        loops = [
            EventConsumer(
                bootstrap=self.bootstrap,
                group=g,
                topics=[self.topic],
                handlers={},
                sessions=session_factory(engine),
                producer=holder,
            )
            for g in self.groups
        ]
        tasks = [asyncio.create_task(c.run()) for c in loops]
        try:
            await read_after(
                self.bootstrap, start, lambda m: len(m) >= 3 * len(self.groups), timeout=30
            )
        finally:
            for c in loops:
                c.stop()
            await asyncio.gather(*tasks)
            await holder.stop()
            await engine.dispose()


@pytest.fixture
def poison(kafka_bootstrap: str, tmp_path: Path) -> Poison:
    p = Poison(kafka_bootstrap, tmp_path)

    async def go() -> None:
        await p.setup()
        await p.produce()
        await p.consume_until_dead_lettered()

    asyncio.run(go())
    return p


def _listed(poison: Poison) -> list[dict[str, Any]]:
    r = invoke("dlq", "list", "--bootstrap", poison.bootstrap, "--topic", poison.topic, "--json")
    assert r.exit_code == 0, r.output
    return [json.loads(line) for line in r.output.splitlines() if line.strip()]


def _replay(poison: Poison, *args: str) -> Any:
    r = invoke("dlq", "replay", "--bootstrap", poison.bootstrap, "--topic", poison.topic, *args)
    assert r.exit_code == 0, r.output
    return r


def _back_on_topic(poison: Poison, start: dict[Any, int]) -> list[Any]:
    return asyncio.run(read_after(poison.bootstrap, start, lambda m: False, timeout=3))


@pytest.mark.kafka
def test_dlq_list_shows_where_and_why_without_personal_data(poison: Poison) -> None:
    docs = _listed(poison)
    assert len(docs) == 6  # three poison messages, dead-lettered once per group
    assert Counter(d["group"] for d in docs) == dict.fromkeys(poison.groups, 3)
    assert {d["error_type"] for d in docs} == {"MalformedEvent"}
    causes = {d["error_message"] for d in docs}
    assert any(c.startswith("invalid LeadErased data") for c in causes)
    assert "unknown ce_type 'io.example.unknown.v9'" in causes
    assert "missing header ce_specversion" in causes
    for d in docs:
        assert d["original"].startswith(f"{poison.topic}/")
        assert d["attempts"] == "1"
        assert d["failed_at"]
        assert d["size"] > 0
        assert "payload" not in d
        assert d["replayed"] is False
    assert {d["ce_type"] for d in docs} == {
        LeadErased.ce_type,
        "io.example.unknown.v9",
        None,
    }

    table = invoke("dlq", "list", "--bootstrap", poison.bootstrap, "--topic", poison.topic)
    assert table.exit_code == 0
    assert "MalformedEvent" in table.output
    assert "someone@example.com" not in table.output  # values stay hidden
    shown = invoke(
        "dlq", "list", "--bootstrap", poison.bootstrap, "--topic", poison.topic, "--show-payload"
    )
    assert "someone@example.com" in shown.output
    limited = invoke(
        "dlq",
        "list",
        "--bootstrap",
        poison.bootstrap,
        "--topic",
        poison.topic,
        "--limit",
        "2",
        "--json",
    )
    assert len(limited.output.strip().splitlines()) == 2


@pytest.mark.kafka
def test_replay_puts_each_original_back_once_even_when_run_twice(poison: Poison) -> None:
    start = asyncio.run(end_offsets(poison.bootstrap, [poison.topic]))

    dry = _replay(poison, "--all", "--dry-run")
    assert "3 message(s) would be replayed" in dry.output
    assert _back_on_topic(poison, start) == []

    first = _replay(poison, "--all")
    assert "3 message(s) replayed" in first.output
    second = _replay(poison, "--all")
    assert "0 message(s) replayed, 6 already replayed" in second.output

    back = _back_on_topic(poison, start)
    assert len(back) == 3  # one per original, not one per dead-lettered copy
    by_value = {m.value: m for m in back}
    for key, value, headers in poison.sent:
        m = by_value[value]  # the original bytes
        assert m.key == key
        got = list(m.headers)
        assert not any(k.startswith("dlq_") and k != "dlq_replayed" for k, _ in got)
        assert ("dlq_replayed", b"1") in got
        assert [h for h in got if h[0] != "dlq_replayed"] == headers  # original headers
    assert all(d["replayed"] for d in _listed(poison))
    sizes = asyncio.run(cli_kafka.dlq_sizes(poison.bootstrap, poison.topic))
    assert sizes[0].messages == 6
    assert sizes[0].pending_replay == 0


@pytest.mark.kafka
def test_replay_by_ce_id_and_group_then_all_replays_the_rest_once(poison: Poison) -> None:
    start = asyncio.run(end_offsets(poison.bootstrap, [poison.topic]))
    ce_id = dict(poison.sent[0][2])["ce_id"].decode()
    group = poison.groups[0]

    one = _replay(poison, "--ce-id", ce_id, "--group", group)
    assert "1 message(s) replayed" in one.output
    again = _replay(poison, "--ce-id", ce_id, "--group", group)
    assert "0 message(s) replayed, 1 already replayed" in again.output
    assert len(_back_on_topic(poison, start)) == 1

    rest = _replay(poison, "--all", "--group", group)
    assert "2 message(s) replayed, 1 already replayed" in rest.output
    assert len(_back_on_topic(poison, start)) == 3
    pending = asyncio.run(cli_kafka.dlq_sizes(poison.bootstrap, poison.topic))[0]
    assert pending.pending_replay == 3  # the other group's copies are still there

    nothing = _replay(poison, "--ce-id", "no-such-id")
    assert "Nothing matched" in nothing.output
