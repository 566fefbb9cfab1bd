"""Poison on every contract topic lands in its DLQ, once per consuming group; leads still flow.

The four services run as processes (tests/support/stack.py) on a broker of the test worker's
own (`private_kafka_bootstrap`), so the tests running beside it neither see this poison nor
disturb it. Four kinds of poison per topic:

- malformed JSON under valid CloudEvents headers,
- a valid value with an unknown `ce_type`,
- no headers at all,
- a value over the consumer's `MAX_VALUE_BYTES` (1 MiB). The broker's `message.max.bytes`
  (~1 MiB) bounds the *compressed* batch, so a gzip-compressed producer gets such a value
  through, just as a real misbehaving producer would; the consumer refuses it and
  dead-letters it truncated to half a MiB (`dlq_truncated: true`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from standardwebhooks.webhooks import Webhook
from typer.testing import CliRunner

from leadflow.bus import MAX_VALUE_BYTES
from leadflow.cli import app as cli
from leadflow.events import BY_CE_TYPE, TOPICS, Envelope, LeadErased, dlq_topic
from support.kafka_tools import end_offsets, eventually, read_after
from support.leads import varied_leads
from support.receiver import Receiver
from support.stack import Stack

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]


@pytest.fixture(scope="module")
def kafka_bootstrap(private_kafka_bootstrap: str) -> str:
    """The worker's own broker (tests/conftest.py), its stack's too: it poisons every topic."""
    return private_kafka_bootstrap


# Who consumes what, per the contract (every service also consumes leads.erased).
CONSUMERS: dict[str, set[str]] = {
    "leads.captured": {"lead-scoring", "feedback"},
    "leads.scored": {"feedback"},
    "leads.qualified": {"sales-assignment", "feedback"},
    "leads.assigned": {"feedback"},
    "leads.outcomes": {"lead-scoring", "sales-assignment", "feedback"},
    "leads.erased": {"marketing-intake", "lead-scoring", "sales-assignment", "feedback"},
}
KINDS = ("malformed-json", "unknown-type", "no-headers", "oversized")
TYPE_OF_TOPIC = {cls.topic: ce for ce, cls in BY_CE_TYPE.items()}


def _groups(stack: Stack) -> dict[str, str]:
    """service → the stack's private consumer group."""
    return {name: p.env["LEADFLOW_CONSUMER_GROUP"] for name, p in stack.procs.items()}


def _poison(topic: str, kind: str, run: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers); the key names the poison so the test finds its DLQ copies."""
    key = f"poison-{run}-{topic}-{kind}".encode()
    headers = Envelope(
        data=LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC)), source="/chaos"
    ).headers()
    headers = [(k, TYPE_OF_TOPIC[topic].encode() if k == "ce_type" else v) for k, v in headers]
    if kind == "malformed-json":
        return key, b'{"lead_id": "00000000-0000-0000-0000-000000000000", "lead": {', headers
    if kind == "unknown-type":
        unknown = [
            (k, b"io.leadflow.lead.teleported.v1" if k == "ce_type" else v) for k, v in headers
        ]
        return key, json.dumps({"lead_id": str(uuid.uuid4())}).encode(), unknown
    if kind == "no-headers":
        return key, json.dumps({"lead_id": str(uuid.uuid4())}).encode(), []
    pad = "x" * (MAX_VALUE_BYTES + 4096)
    return key, json.dumps({"lead_id": str(uuid.uuid4()), "pad": pad}).encode(), headers


async def _produce_poison(bootstrap: str, run: str) -> dict[bytes, tuple[str, str, bytes]]:
    """Every kind on every topic; returns key → (topic, kind, value)."""
    sent: dict[bytes, tuple[str, str, bytes]] = {}
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type="gzip",  # the oversized value fits the broker's limit compressed
        max_request_size=4 * 1_048_576,
    )
    await producer.start()
    try:
        for topic in TOPICS:
            for kind in KINDS:
                key, value, headers = _poison(topic, kind, run)
                await producer.send_and_wait(topic, value, key=key, headers=headers)
                sent[key] = (topic, kind, value)
    finally:
        await producer.stop()
    return sent


class Flow:
    """Reps, a webhook endpoint, an API key; valid leads posted through intake."""

    def __init__(self, stack: Stack, receiver: Receiver) -> None:
        self.stack = stack
        self.receiver = receiver
        self.key = ""
        self.secret = ""

    async def setup(self, http: httpx.AsyncClient) -> None:
        admin = self.stack.admin()
        r = await http.post(
            f"{self.stack.url('sales-assignment')}/v1/webhook-endpoints",
            headers=admin,
            json={"url": self.receiver.url, "event_types": ["lead.assigned"]},
        )
        assert r.status_code == 201, r.text
        self.secret = r.json()["secret"]
        for name in ("Poppy", "Quinn"):
            r = await http.post(
                f"{self.stack.url('sales-assignment')}/v1/reps",
                headers=admin,
                json={"name": f"{name} Rep", "email": f"{name.lower()}@sales.example.com"},
            )
            assert r.status_code == 201, r.text
        r = await http.post(
            f"{self.stack.url('marketing-intake')}/v1/api-keys", headers=admin, json={"name": "p"}
        )
        assert r.status_code == 201, r.text
        self.key = r.json()["key"]

    async def post(self, http: httpx.AsyncClient, bodies: list[dict[str, Any]]) -> dict[str, bool]:
        """lead_id → expected to qualify (per the scoring preview)."""
        out = {}
        for body in bodies:
            r = await http.post(
                f"{self.stack.url('lead-scoring')}/v1/scores/preview",
                json=body,
                headers=self.stack.admin(),
            )
            assert r.status_code == 200, r.text
            qualified = bool(r.json()["qualified"])
            r = await http.post(
                f"{self.stack.url('marketing-intake')}/v1/leads",
                json=body,
                headers={"Authorization": f"Bearer {self.key}"},
            )
            assert r.status_code == 202, r.text
            out[str(r.json()["lead_id"])] = qualified
        return out

    def delivered(self) -> set[str]:
        got = set()
        for received, payload in self.receiver.payloads():
            Webhook(self.secret).verify(received.body, received.headers)
            if payload["type"] == "lead.assigned":
                got.add(payload["data"]["lead"]["lead_id"])
        return got


async def test_poison_on_every_topic_is_dead_lettered_per_group_while_leads_flow(
    stack: Stack, receiver: Receiver, kafka_bootstrap: str
) -> None:
    run = uuid.uuid4().hex[:8]
    groups = _groups(stack)
    start = await end_offsets(kafka_bootstrap, [dlq_topic(t) for t in TOPICS])
    flow = Flow(stack, receiver)
    bodies = varied_leads(30, seed=23)
    async with httpx.AsyncClient(timeout=30) as http:
        await flow.setup(http)
        leads = await flow.post(http, bodies[:15])
        sent = await _produce_poison(kafka_bootstrap, run)
        leads |= await flow.post(http, bodies[15:])
    qualified = {lead for lead, q in leads.items() if q}
    assert qualified, "the seeded leads should include good fits"

    ours = set(groups.values())
    expected = {
        (topic, kind, groups[service])
        for topic, services in CONSUMERS.items()
        for service in services
        for kind in KINDS
    }

    def mine(messages: list[Any]) -> list[Any]:
        return [
            m
            for m in messages
            if _original_key(m) in sent
            and dict(m.headers).get("dlq_consumer_group", b"").decode() in ours
        ]

    dead = mine(
        await read_after(
            kafka_bootstrap, start, lambda m: len(mine(m)) >= len(expected), timeout=90
        )
    )
    await asyncio.sleep(2)  # a duplicate would show up now
    dead = mine(await read_after(kafka_bootstrap, start, lambda m: False, timeout=3))

    seen = Counter()
    for m in dead:
        h = {k: v.decode("utf-8", "replace") for k, v in m.headers}
        topic, kind, value = sent[_original_key(m)]
        assert m.topic == dlq_topic(topic)
        assert h["dlq_original_topic"] == topic
        assert h["dlq_error_type"] == "MalformedEvent"
        assert h["dlq_attempts"] == "1"
        assert h["dlq_failed_at"]
        assert h["dlq_original_offset"].isdigit()
        cause = h["dlq_error_message"]
        if kind == "malformed-json":
            assert cause.startswith("invalid "), cause
            assert " data: " in cause, cause
            assert m.value == value
        elif kind == "unknown-type":
            assert cause == "unknown ce_type 'io.leadflow.lead.teleported.v1'"
            assert m.value == value
        elif kind == "no-headers":
            assert cause == "missing header ce_specversion"
            assert m.value == value
        else:
            assert cause == f"value of {len(value)} bytes exceeds {MAX_VALUE_BYTES}"
            assert h["dlq_truncated"] == "true"
            assert m.value == value[: MAX_VALUE_BYTES // 2]
        seen[(topic, kind, h["dlq_consumer_group"])] += 1
    assert set(seen) == expected  # exactly the consuming groups, per topic
    assert all(n == 1 for n in seen.values()), [k for k, n in seen.items() if n > 1]

    # The pipeline went on: every qualified lead reached a salesperson's webhook.
    await eventually(lambda: flow.delivered() >= qualified, timeout=90)
    assert flow.delivered() & set(leads) == qualified
    for name in stack.procs:  # nobody fell over
        r = httpx.get(f"{stack.url(name)}/healthz", timeout=5)
        assert r.status_code == 200, (name, r.text)

    # The operator sees them.
    listed = await asyncio.to_thread(  # the CLI runs its own event loop
        CliRunner().invoke,
        cli,
        ["dlq", "list", "--bootstrap", kafka_bootstrap, "--json"],
        env={"COLUMNS": "250"},
    )
    assert listed.exit_code == 0, listed.output
    docs = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    by_group = [d for d in docs if d["group"] in ours]
    assert len(by_group) == len(expected)
    assert all("payload" not in d for d in by_group)
    assert Counter(d["error_type"] for d in by_group) == {"MalformedEvent": len(expected)}
    assert sum(1 for d in by_group if d["truncated"]) == sum(len(s) for s in CONSUMERS.values())


def _original_key(m: Any) -> bytes | None:
    """The key the poison had: a dead letter has a key of its own (erasure_log.py)."""
    return dict(m.headers).get("dlq_original_key")
