"""Scale-out: two replicas of every service, six partitions, a rolling restart under load.

Eight service processes: each service twice, both replicas in the service's one consumer
group and on its one PostgreSQL database. The topics are this test's own (a unique
`LEADFLOW_KAFKA_TOPIC_PREFIX`, six partitions each, deleted after), so the shared broker's
contract topics are not touched. 2,000 leads are posted to both intake replicas (a client-side
load balancer: a refused connection goes to the other replica with the same Idempotency-Key);
during the burst one replica of each service in turn gets SIGTERM, stays down a moment and
starts again, so every group rebalances twice under load.

What must hold afterwards: every lead scored once (one `leads.scored` row in scoring's outbox
per lead, one `ce_id` per lead on the topic), every qualified lead assigned once (one
assignment row, one hand-over in the history, one `leads.assigned` event) and its
`lead.assigned` webhook received at a real HTTP receiver under one `webhook-id`, and
feedback's journey of every lead complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from standardwebhooks.webhooks import Webhook

from leadflow.kafka import physical_topic
from support.infra import create_pg_database, drop_pg_database, postgres_admin_url
from support.kafka_tools import end_offsets, read_after
from support.leads import varied_leads
from support.receiver import Receiver
from support.stack import SERVICES, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]

N_LEADS = 2000
CONCURRENCY = 16  # requests in flight, spread over both intake replicas
RESTART_AFTER = 200  # leads accepted before the rolling restart begins
# While the restart goes on, leads are sent at most this fast, so that it happens under load
# even where the whole burst would be in before the first replica is back (a quiet machine
# takes 2,000 leads in a few seconds); once it is over, the rest go at full speed.
PACE_PER_SECOND = 50
DOWN_SECONDS = 1.0  # how long a stopped replica stays down (its group rebalances without it)


async def _delete_topics(bootstrap: str, prefix: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


@pytest.fixture
def scaled(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    """The four services twice each on PostgreSQL and topics of their own; all cleaned up."""
    admin = postgres_admin_url()
    prefix = f"scale-{uuid.uuid4().hex[:8]}."
    urls: dict[str, str] = {}
    stack: Stack | None = None
    try:
        for name in SERVICES:
            urls[name] = asyncio.run(create_pg_database(admin))
        stack = Stack(
            tmp_path,
            kafka_bootstrap,
            extra_env={
                "LEADFLOW_KAFKA_TOPIC_PREFIX": prefix,
                "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "3600",  # no SLA re-routing in the test
                "LEADFLOW_WEBHOOK_POLL_SECONDS": "0.2",
                "LEADFLOW_WEBHOOK_RETRY_SCHEDULE": "[0, 1, 2, 3, 5]",
            },
            # One API key posts all 2,000: no per-key limit (the burst is the point).
            service_env={"marketing-intake": {"LEADFLOW_RATE_LIMIT_KEY_PER_SECOND": "0"}},
            database_urls=urls,
            replicas=2,
        )
        yield stack.start()
    finally:
        if stack is not None:
            stack.stop()  # every process, also those a failed restart left behind
        for url in urls.values():
            asyncio.run(drop_pg_database(admin, url))
        asyncio.run(_delete_topics(kafka_bootstrap, prefix))


class Burst:
    """Posts leads to every intake replica in turn; a replica that is down is skipped."""

    def __init__(self, urls: list[str], key: str) -> None:
        self.urls = urls
        self.key = key
        self.ids: dict[int, str] = {}
        self.by_replica: Counter[str] = Counter()
        self.retries = 0
        self.accepted = asyncio.Event()  # set once RESTART_AFTER leads are in
        self.restarted = asyncio.Event()  # set once the rolling restart is over
        self.failed = asyncio.Event()  # set when the burst failed: the restart stops
        self._next_send = 0.0

    async def post(self, http: httpx.AsyncClient, i: int, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Idempotency-Key": f"scale-{i}"}
        if self.accepted.is_set() and not self.restarted.is_set():
            now = time.monotonic()
            self._next_send = max(self._next_send, now) + 1 / PACE_PER_SECOND
            await asyncio.sleep(self._next_send - now)
        for attempt in range(200):
            url = self.urls[(i + attempt) % len(self.urls)]
            try:
                r = await http.post(f"{url}/v1/leads", json=body, headers=headers)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code == 202:
                self.ids[i] = str(r.json()["lead_id"])
                self.by_replica[url] += 1
                if len(self.ids) >= RESTART_AFTER:
                    self.accepted.set()
                return
            # Refused (stopping or not started yet) or 503 while draining: the other one.
            assert r is None or r.status_code == 503, r.text
            self.retries += 1
            await asyncio.sleep(0.05)
        raise AssertionError(f"lead {i} was accepted by no intake replica")

    async def run(self, bodies: list[dict[str, Any]]) -> None:
        gate = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient(timeout=30) as http:

            async def one(i: int, body: dict[str, Any]) -> None:
                async with gate:
                    await self.post(http, i, body)

            async with asyncio.TaskGroup() as posts:  # one fails: the others are cancelled
                for i, body in enumerate(bodies):
                    posts.create_task(one(i, body))


async def _rolling_restart(stack: Stack, burst: Burst) -> list[tuple[str, int, float]]:
    """SIGTERM the second replica of each service in turn, wait, start it again; per service
    its exit code and how long it was away."""
    await burst.accepted.wait()
    done = []
    for name in SERVICES:
        if burst.failed.is_set():
            break  # the test is failing: no further step
        key = f"{name}#2"
        started = time.monotonic()
        code = await asyncio.to_thread(stack.procs[key].terminate)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(stack.restart, key)
        done.append((name, code, time.monotonic() - started))
    burst.restarted.set()
    return done


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 180) -> None:
    """Wait until `check()` holds, asking once a second: each ask reads thousands of rows,
    which the eight services would otherwise pay for on the same two cores."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(1.0)


async def _rows(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def _outbox_keys(url: str, topic: str) -> Counter[str]:
    """How many outbox rows of `topic` the service wrote per key (the lead id)."""
    rows = await _rows(url, f"SELECT key FROM outbox WHERE topic = '{topic}'")
    return Counter(bytes(r.key).decode() for r in rows)


def _partitions_assigned(log: str) -> bool:
    return any(
        '"partitions assigned"' in line and "partition=" in line for line in log.splitlines()
    )


async def test_two_replicas_of_every_service_handle_each_lead_once_through_a_rolling_restart(
    scaled: Stack, receiver: Receiver, kafka_bootstrap: str
) -> None:
    stack = scaled
    urls = stack.database_urls
    prefix = stack.extra_env["LEADFLOW_KAFKA_TOPIC_PREFIX"]
    async with httpx.AsyncClient(timeout=30) as http:
        secret = await stack.add_endpoint(http, receiver.url, ["lead.assigned"])
        reps = {(await stack.add_rep(http, n, weight=w))["rep_id"] for n, w in (("A", 1), ("B", 2))}
        key = await stack.add_api_key(http, "scale")

    scored_topic = physical_topic("leads.scored", prefix)
    assigned_topic = physical_topic("leads.assigned", prefix)
    # The topics are new: everything on them is this test's.
    origin = dict.fromkeys(await end_offsets(kafka_bootstrap, [scored_topic, assigned_topic]), 0)
    assert len(origin) == 12, origin  # six partitions each

    bodies = varied_leads(N_LEADS, seed=2020)
    burst = Burst([p.url for p in stack.replicas_of("marketing-intake")], key)
    t0 = time.monotonic()
    restart = asyncio.create_task(_rolling_restart(stack, burst))
    try:
        await burst.run(bodies)
        posted_in = time.monotonic() - t0
        restarts = await restart
    finally:
        # Not cancelled mid-step: a restart in a thread would go on and start a process
        # after the fixture stopped them all. The step in hand ends; no other begins.
        burst.failed.set()
        if not burst.accepted.is_set():
            restart.cancel()
        with contextlib.suppress(BaseException):
            await restart
    ids = set(burst.ids.values())
    assert len(ids) == N_LEADS  # one lead per person, retries included (Idempotency-Key)
    assert len(burst.by_replica) == 2  # both intake replicas took leads
    for name, code, _ in restarts:
        assert code in (0, -signal.SIGTERM), (name, code)

    # Every lead scored; the qualified ones assigned and their webhook received.
    async def scored_all() -> bool:
        return set(await _outbox_keys(urls["lead-scoring"], "leads.scored")) >= ids

    await _until(scored_all)
    qualified = set(await _outbox_keys(urls["lead-scoring"], "leads.qualified")) & ids
    assert 0 < len(qualified) < N_LEADS

    def hooks(*, verify: bool = False) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for received, payload in receiver.payloads():
            if verify:  # a bad signature fails the test
                Webhook(secret).verify(received.body, received.headers)
            lead_id = payload["data"]["lead"]["lead_id"]
            if payload["type"] == "lead.assigned" and lead_id in ids:
                out[lead_id].add(received.headers["webhook-id"])
        return out

    async def delivered_all() -> bool:
        return set(hooks()) >= qualified

    await _until(delivered_all)
    done_in = time.monotonic() - t0

    async def journeys_complete() -> bool:
        rows = await _rows(urls["feedback"], "SELECT lead_id, ce_type FROM journey")
        seen: dict[str, set[str]] = defaultdict(set)
        for r in rows:
            seen[str(r.lead_id)].add(r.ce_type.rsplit(".", 2)[-2])  # …lead.<kind>.v1
        return all(
            {"captured", "scored"} | ({"qualified", "assigned"} if i in qualified else set())
            <= seen[i]
            for i in ids
        )

    await _until(journeys_complete)
    await asyncio.sleep(2)  # a duplicate, if there were one, would show up now

    # Scored once: one leads.scored event written per lead, one ce_id per lead on Kafka.
    scored = await _outbox_keys(urls["lead-scoring"], "leads.scored")
    assert {i: n for i, n in scored.items() if i in ids and n != 1} == {}
    on_kafka: dict[str, set[str]] = defaultdict(set)
    assigned_events: dict[str, set[str]] = defaultdict(set)
    raw = 0
    for m in await read_after(kafka_bootstrap, origin, lambda _: False, timeout=5):
        if m.value is None:
            continue
        headers = {k: v.decode() for k, v in m.headers}
        lead = json.loads(m.value)["lead_id"]
        target = on_kafka if m.topic == scored_topic else assigned_events
        target[lead].add(headers["ce_id"])
        raw += 1
    assert set(on_kafka) == ids
    assert all(len(ce) == 1 for ce in on_kafka.values())

    # Assigned once: one assignment per qualified lead, handed over once, one event.
    rows = await _rows(
        urls["sales-assignment"], "SELECT lead_id, rep_id, status, attempt FROM assignments"
    )
    ours = [r for r in rows if str(r.lead_id) in ids]
    assert {str(r.lead_id) for r in ours} == qualified
    assert {(r.status, r.attempt) for r in ours} == {("assigned", 1)}
    assert {str(r.rep_id) for r in ours} <= reps
    handed = await _rows(
        urls["sales-assignment"],
        "SELECT lead_id, count(*) AS n FROM assignment_history"
        " WHERE event IN ('assigned', 'reassigned') GROUP BY lead_id",
    )
    assert {str(r.lead_id): r.n for r in handed if str(r.lead_id) in ids} == dict.fromkeys(
        qualified, 1
    )
    assert set(assigned_events) == qualified
    assert all(len(ce) == 1 for ce in assigned_events.values())

    # Delivered once: one webhook-id per qualified lead (a re-send would reuse it).
    got = hooks(verify=True)
    assert set(got) == qualified
    assert all(len(w) == 1 for w in got.values())
    deliveries = sum(1 for _, p in receiver.payloads() if p["data"]["lead"]["lead_id"] in ids)

    # Both replicas of every service took part in their group.
    logs = {key: p.log_path.read_text(errors="replace") for key, p in stack.procs.items()}
    assert [k for k, log in logs.items() if not _partitions_assigned(log)] == []

    print(
        # Not a throughput figure: the burst is paced while the restart goes on.
        f"\nscale-out: {N_LEADS} leads posted in {posted_in:.1f} s"
        f" (per intake replica {sorted(burst.by_replica.values())},"
        f" {burst.retries} retried on the other replica); {len(qualified)} qualified;"
        f" last webhook {done_in:.1f} s after the first POST;"
        f" restarts (down to ready) {[(n, round(s, 1)) for n, _, s in restarts]};"
        f" {raw} scored/assigned records for {len(ids) + len(qualified)} events;"
        f" {deliveries} webhook deliveries for {len(qualified)} leads"
    )
