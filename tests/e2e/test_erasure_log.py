"""Erasure on the event log: once the erasure delay has passed, no topic (DLQs and internal
topics included) shows an erased person's email, phone or names to a plain consumer."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadflow.events import LeadCaptured, dlq_topic
from leadflow.kafka import ensure_topics
from leadflow.settings import KafkaSettings
from support.kafka_tools import end_offsets, eventually
from support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]


@pytest.fixture(scope="module")
def kafka_bootstrap(private_kafka_bootstrap: str) -> str:
    """The worker's own broker (tests/conftest.py), its stack's too: the proof reads every topic."""
    return private_kafka_bootstrap


# What `make run` and the test broker's topics use (the setting's default).
DELAY = KafkaSettings.model_fields["erasure_delay_seconds"].default


async def every_record(bootstrap: str) -> list[Any]:
    """Every record of every topic (but the broker's own), read from the beginning by a
    consumer of a new group, as anyone with read access could."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if not t.startswith("__")]
    finally:
        await admin.close()
    ends = {tp: end for tp, end in (await end_offsets(bootstrap, topics)).items() if end > 0}
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"erasure-proof-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                out.extend(msgs)
            if consumer.assignment() >= set(ends):
                positions = {tp: await consumer.position(tp) for tp in ends}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    return out
        raise TimeoutError("reading every topic took over 60 s")
    finally:
        await consumer.stop()


def showing(records: list[Any], secrets: list[bytes]) -> list[str]:
    """Where any of `secrets` appears: key, value or a header of a record."""
    found = []
    for m in records:
        blobs = [m.key or b"", m.value or b"", *(v or b"" for _, v in m.headers or ())]
        for secret in secrets:
            if any(secret in blob for blob in blobs):
                found.append(f"{m.topic}[{m.partition}]@{m.offset}: {secret!r}")
    return found


async def test_an_erased_person_is_on_no_topic_once_the_erasure_delay_has_passed(
    stack: Stack, kafka_bootstrap: str
) -> None:
    await ensure_topics(kafka_bootstrap)  # as `make run` does: configs of existing topics too
    admin = stack.admin()
    tag = uuid.uuid4().hex[:10]
    body = {
        "email": f"erase.me.{tag}@example.org",
        "first_name": f"Ermintrude{tag}",
        "last_name": f"Forgetme{tag}",
        "phone": f"+44 20 7946 {int(tag[:6], 16) % 10_000:04d}",
        "company": "Analytical Engines",
        "job_title": "VP Engineering",
        "company_size": 250,
        "country": "GB",
        "website": "analytical-engines.example",
    }
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{stack.url('sales-assignment')}/v1/reps",
            headers=admin,
            json={"name": "Rita Rep", "email": "rita@sales.example.com"},
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            f"{stack.url('marketing-intake')}/v1/api-keys", headers=admin, json={"name": "erase"}
        )
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        r = await http.post(
            f"{stack.url('marketing-intake')}/v1/leads",
            json=body,
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 202, r.text
        lead_id = r.json()["lead_id"]
        r = await http.get(f"{stack.url('marketing-intake')}/v1/leads/{lead_id}", headers=admin)
        assert r.status_code == 200, r.text
        phone = r.json()["lead"]["phone"]  # as intake normalised it, as the events carry it

        async def assigned() -> bool:
            got = await http.get(
                f"{stack.url('sales-assignment')}/v1/assignments/{lead_id}", headers=admin
            )
            return got.status_code == 200

        await eventually(assigned, timeout=60)

        # A copy nobody can read, with the person's data in it: every consumer group of
        # leads.captured dead-letters it (scoring's and feedback's, at least).
        dlq_start = await end_offsets(kafka_bootstrap, [dlq_topic(LeadCaptured.topic)])
        broken = json.dumps({"lead_id": lead_id, "lead": body}).encode()[:-1]
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                LeadCaptured.topic,
                broken,
                key=lead_id.encode(),
                headers=[
                    ("ce_specversion", b"1.0"),
                    ("ce_id", f"broken-{tag}".encode()),
                    ("ce_source", b"/erasure-test"),
                    ("ce_type", LeadCaptured.ce_type.encode()),
                ],
            )
        finally:
            await producer.stop()
        person = (body["email"], phone, body["first_name"], body["last_name"])
        secrets = [str(s).encode() for s in person]

        async def dead_lettered() -> bool:
            records = await every_record(kafka_bootstrap)
            ours = [
                m
                for m in records
                if m.topic == dlq_topic(LeadCaptured.topic)
                and m.offset >= dlq_start.get(TopicPartition(m.topic, m.partition), 0)
                and m.value is not None
                and secrets[0] in m.value
            ]
            return len(ours) >= 2

        await eventually(dead_lettered, timeout=30)
        before = showing(await every_record(kafka_bootstrap), secrets)
        # Before: on the lead's topics and in the DLQ, as the proof below expects to find.
        for topic in ("leads.captured[", "leads.scored[", "leads.qualified[", ".dlq["):
            assert any(topic in f for f in before), (topic, before)

        r = await http.delete(f"{stack.url('marketing-intake')}/v1/leads/{lead_id}", headers=admin)
        assert r.status_code == 202, r.text
    erased_at = time.monotonic()

    left: list[str] = before
    while time.monotonic() - erased_at < DELAY:
        await asyncio.sleep(5)
        left = showing(await every_record(kafka_bootstrap), secrets)
        if not left:
            break
    took = time.monotonic() - erased_at
    assert left == [], f"still readable {took:.0f} s after erasure: {left[:5]}"
    print(f"erased from every topic {took:.0f} s after the erasure (delay {DELAY} s)")
