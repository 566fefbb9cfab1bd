"""A burst of 2,000 leads while every part of the system fails once; nothing is lost.

During the burst each service is SIGKILLed and restarted, the Kafka broker restarts,
the webhook receiver answers 503 for a while and PostgreSQL stops briefly. Afterwards
every qualified lead was assigned exactly once and its webhook delivered (one unique
`webhook-id` per lead), and the DLQs hold only the messages poisoned on purpose.
The test runs its own broker and PostgreSQL, so stopping them disturbs nothing else.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from leadflow.events import TOPICS, dlq_topic
from leadflow.kafka import ensure_topics
from support.infra import create_pg_database
from support.kafka_tools import end_offsets, eventually, read_after
from support.leads import varied_leads
from support.private import PrivateKafka, PrivatePostgres
from support.receiver import Receiver
from support.stack import SERVICES, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

LEADS = 2000
POISON = 3


@pytest.fixture(scope="module")
def kafka() -> Iterator[PrivateKafka]:
    k = PrivateKafka().start()
    asyncio.run(ensure_topics(k.bootstrap))
    yield k
    k.discard()


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres().start()
    yield pg
    pg.discard()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def stack(
    kafka: PrivateKafka, postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = Stack(
        tmp_path_factory.mktemp("chaos"),
        kafka.bootstrap,
        extra_env={
            "LEADFLOW_WEBHOOK_RETRY_SCHEDULE": "0,1,1,2,3,5,8,13,21,34",
            "LEADFLOW_WEBHOOK_DISABLE_AFTER": "1000",
            "LEADFLOW_WEBHOOK_POLL_SECONDS": "0.2",
            "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "86400",
            "LEADFLOW_LOG_LEVEL": "WARNING",
        },
    )
    s.database_urls = {n: asyncio.run(create_pg_database(postgres.url)) for n in SERVICES}
    s.start()
    yield s
    s.stop()


class Load:
    """Posts every lead until intake answers 202; the Idempotency-Key makes retries safe."""

    def __init__(self, stack: Stack, key: str) -> None:
        self.url = f"{stack.url('marketing-intake')}/v1/leads"
        self.key = key
        self.accepted: dict[int, str] = {}
        self.retries = 0

    async def post(self, http: httpx.AsyncClient, i: int, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": f"chaos-{i}"}
        while True:
            try:
                r = await http.post(self.url, json=body, headers=headers)
                if r.status_code == 202:
                    self.accepted[i] = r.json()["lead_id"]
                    return
                assert r.status_code in (429, 500, 502, 503), r.text
            except httpx.HTTPError:
                pass
            self.retries += 1
            await asyncio.sleep(0.5)


async def test_nothing_is_lost_or_doubled_whatever_fails(
    stack: Stack, kafka: PrivateKafka, postgres: PrivatePostgres, receiver: Receiver
) -> None:
    admin = stack.admin()
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            f"{stack.url('sales-assignment')}/v1/webhook-endpoints",
            headers=admin,
            json={"url": receiver.url, "event_types": ["lead.assigned"]},
        )
        assert r.status_code == 201, r.text
        for n in range(3):
            r = await http.post(
                f"{stack.url('sales-assignment')}/v1/reps",
                headers=admin,
                json={"name": f"Rep {n}", "email": f"r{n}@sales.example.com"},
            )
            assert r.status_code == 201, r.text
        r = await http.post(
            f"{stack.url('marketing-intake')}/v1/api-keys", headers=admin, json={"name": "chaos"}
        )
        key = r.json()["key"]
    dlq_start = await end_offsets(kafka.bootstrap, [dlq_topic(t) for t in TOPICS])
    load = Load(stack, key)
    bodies = varied_leads(LEADS, seed=2026)

    async def burst() -> None:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(timeout=10, limits=limits) as http:
            sem = asyncio.Semaphore(16)

            async def one(i: int) -> None:
                async with sem:
                    await load.post(http, i, bodies[i])

            await asyncio.gather(*(one(i) for i in range(LEADS)))

    async def faults() -> None:
        async def kill_and_restart(name: str) -> None:
            stack.procs[name].kill()
            await asyncio.sleep(1.0)
            await asyncio.to_thread(stack.restart, name)

        await asyncio.sleep(2)
        for name in ("lead-scoring", "sales-assignment", "feedback", "marketing-intake"):
            await kill_and_restart(name)
            await asyncio.sleep(1.5)
        await asyncio.to_thread(kafka.restart)
        await asyncio.sleep(2)
        receiver.fail_with = 503
        await asyncio.sleep(4)
        receiver.fail_with = None
        await asyncio.to_thread(postgres.stop)
        await asyncio.sleep(3)
        await asyncio.to_thread(postgres.start)

    started = time.monotonic()
    await asyncio.gather(burst(), faults(), poison(kafka.bootstrap))
    burst_seconds = time.monotonic() - started
    assert len(load.accepted) == LEADS
    lead_ids = set(load.accepted.values())

    # Which leads qualified is lead-scoring's deterministic verdict (default rules).
    qualified: set[str] = set()
    async with httpx.AsyncClient(timeout=30) as http:

        async def all_scored() -> bool:
            missing = lead_ids - qualified - scored_poorly
            for lead_id in list(missing):
                r = await http.get(
                    f"{stack.url('lead-scoring')}/v1/scores/{lead_id}", headers=stack.admin()
                )
                if r.status_code == 200:
                    (qualified if r.json()["qualified"] else scored_poorly).add(lead_id)
            return not (lead_ids - qualified - scored_poorly)

        scored_poorly: set[str] = set()
        await eventually(all_scored, timeout=240)
    assert 0 < len(qualified) < LEADS

    def deliveries() -> dict[str, set[str]]:
        got: dict[str, set[str]] = defaultdict(set)
        for received, payload in receiver.payloads():
            if payload["type"] == "lead.assigned":
                got[payload["data"]["lead"]["lead_id"]].add(received.headers["webhook-id"])
        return got

    await eventually(lambda: set(deliveries()) >= qualified, timeout=300)
    await asyncio.sleep(3)
    got = deliveries()
    assert set(got) & lead_ids == qualified, "only qualified leads reach a salesperson"
    doubled = {lead: ids for lead, ids in got.items() if len(ids) != 1}
    assert not doubled, f"leads assigned more than once: {list(doubled)[:5]}"

    dead = await read_after(kafka.bootstrap, dlq_start, lambda m: False, timeout=5)
    causes = {(m.topic, dict(m.headers).get("dlq_error_type", b"").decode()) for m in dead}
    assert causes <= {("leads.captured.dlq", "MalformedEvent")}, causes
    keys = {dict(m.headers).get("dlq_original_key") for m in dead}  # theirs: erasure_log.py
    assert keys == {f"poison-{i}".encode() for i in range(POISON)}
    print(
        f"\nchaos: {LEADS} leads in {burst_seconds:.0f} s, {load.retries} client retries, "
        f"{len(qualified)} qualified and delivered once each"
    )


async def poison(bootstrap: str) -> None:
    """A few messages nobody can read, on purpose: they, and only they, end in a DLQ."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(POISON):
            await producer.send_and_wait(
                "leads.captured",
                b"{not json",
                key=f"poison-{i}".encode(),
                headers=[
                    ("ce_specversion", b"1.0"),
                    ("ce_id", f"poison-{i}".encode()),
                    ("ce_source", b"/chaos"),
                    ("ce_type", b"io.leadflow.lead.captured.v1"),
                ],
            )
    finally:
        await producer.stop()
