"""Two sales-assignment processes, one PostgreSQL, one broker: every lead has exactly one owner.

Both processes join one consumer group (unique to this test, placed at the topics' end), so
each consumes its share of the six `leads.qualified` partitions, and both route against the
same database under the routing lock. 300 qualified leads are published straight to Kafka.

Why the shares can be checked almost exactly: smooth weighted round robin keeps each rep's
count after n picks within one of n * w / W (its current weight c = n*w - W*count stays
inside (-W, W)), and the routing lock makes the two replicas one sequence of picks over one
shared state. With weights 1, 2, 3 and 300 leads that is 50 / 100 / 150; a lost or doubled
round-robin update would show as a deviation of more than one lead.

Then, on the same two processes, a fallback, the queue and declines: 60 leads from
Antarctica match a rule whose pool (Four) and fallback rep (Five, weight 0) each take 20;
the other 20 are queued (`lead.queued` to a real receiver), and once Four's capacity is
raised in the database both replicas' periodic queue passes race for them. Then Five
declines 10 of its leads through both replicas at once: nobody else may take them (Four is
full, Five declined), so they are queued, and go to Four when it has room again. Each
hand-out happens once: every lead has one owner per attempt, one `leads.assigned` each.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from assignment_kit import qualified
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from leadflow.events import TOPICS, LeadAssigned, decode
from sales_assignment.models import AssignmentRow, HistoryRow, RepRow
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after
from support.procs import ADMIN_TOKEN, Proc, service_proc
from support.receiver import Receiver

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

N_LEADS = 300
N_OVERFLOW = 60  # leads of the fallback-and-queue phase: 20 pool, 20 fallback, 20 queued
WEIGHTS = {"One": 1, "Two": 2, "Three": 3}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_ASSIGNED = re.compile(r"topic='leads\.qualified', partition=(\d+)")


def _replica(i: int, base: Path, bootstrap: str, group: str, database_url: str) -> Proc:
    return service_proc(
        "sales-assignment", bootstrap, base / f"replica-{i}", database_url=database_url,
        group=group, log=base / f"replica-{i}.log", LEADFLOW_RELAY_POLL_SECONDS="0.2",
        LEADFLOW_ASSIGNMENT_SLA_SECONDS="3600",  # no SLA re-routing during the test
    )  # fmt: skip


def _qualified_partitions(proc: Proc) -> set[int] | None:
    """The `leads.qualified` partitions of the process's latest assignment (None: none yet)."""
    latest = None
    for line in proc.log_path.read_text(errors="replace").splitlines():
        if '"partitions assigned"' in line:
            latest = {int(p) for p in _ASSIGNED.findall(line)}
    return latest


def _consumed_ok(metrics: str) -> float:
    total = 0.0
    for line in metrics.splitlines():
        if (
            line.startswith("leadflow_events_consumed_total{")
            and 'topic="leads.qualified"' in line
            and 'result="ok"' in line
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _publish(bootstrap: str, n: int) -> tuple[list[uuid.UUID], set[int]]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        envs = [qualified() for _ in range(n)]
        futures = [
            await producer.send(e.topic, e.value(), key=e.key, headers=e.headers()) for e in envs
        ]
        partitions = {(await f).partition for f in futures}
    finally:
        await producer.stop()
    return [e.data.lead_id for e in envs], partitions


async def _stored(database_url: str) -> tuple[list[Any], Counter[uuid.UUID]]:
    """The assignment rows and, per lead, how many times it was handed to a rep."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = list((await conn.execute(select(AssignmentRow.__table__))).all())
            handed = await conn.scalars(
                select(HistoryRow.lead_id).where(HistoryRow.event.in_(("assigned", "reassigned")))
            )
            return rows, Counter(handed)
    finally:
        await engine.dispose()


async def _set_cap_behind_api(database_url: str, rep_id: str, cap: int) -> None:
    """Give a rep room for more leads in the database, not through the API (no drain)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            more = update(RepRow).where(RepRow.rep_id == uuid.UUID(rep_id))
            await conn.execute(more.values(max_open_leads=cap))
    finally:
        await engine.dispose()


async def test_two_replicas_assign_each_lead_once_and_keep_the_weights(
    kafka_bootstrap: str, pg_url: str, tmp_path: Path
) -> None:
    group = f"sales-assignment-replicas-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(kafka_bootstrap, group, list(TOPICS))
    replicas = [_replica(i, tmp_path, kafka_bootstrap, group, pg_url) for i in (1, 2)]
    try:
        for proc in replicas:  # one after the other: the first one migrates the database
            proc.start()
            await asyncio.to_thread(proc.wait_ready)
        # Publish only once the group has split the partitions between the two.
        await eventually(
            lambda: (
                all(_qualified_partitions(p) for p in replicas)
                and sum(len(_qualified_partitions(p) or ()) for p in replicas) == 6
            ),
            timeout=60,
        )
        async with httpx.AsyncClient(timeout=30) as http:
            reps: dict[str, int] = {}
            for name, weight in WEIGHTS.items():
                answer = await http.post(
                    f"{replicas[0].url}/v1/reps",
                    json={
                        "name": name,
                        "email": f"{name.lower()}@seller.example",
                        "weight": weight,
                    },
                    headers=ADMIN,
                )
                assert answer.status_code == 201, answer.text
                reps[answer.json()["rep_id"]] = weight
            team_at = datetime.now(UTC)  # whatever is routed from now on sees all three reps

            start = await end_offsets(kafka_bootstrap, ["leads.assigned"])
            lead_ids, partitions = await _publish(kafka_bootstrap, N_LEADS)
            assert partitions == set(range(6))
            ours = {str(i) for i in lead_ids}

            def mine(messages: list[Any]) -> list[LeadAssigned]:
                out: dict[str, LeadAssigned] = {}
                for msg in messages:
                    envelope = decode(msg.value, msg.headers)
                    event = envelope.data
                    # Other stacks on the shared broker may also consume our leads (their own
                    # groups) and assign them to their reps: only our reps' events count.
                    if (
                        isinstance(event, LeadAssigned)
                        and str(event.lead_id) in ours
                        and str(event.rep.rep_id) in reps
                    ):
                        # One event per ce_id: delivery is at least once (the contract): a
                        # batch the relay published but did not mark goes out again with the
                        # same ce_ids, which every consumer's inbox drops.
                        out[envelope.id] = event
                return list(out.values())

            keys = {lead.encode() for lead in ours}  # the key of an event is its lead's id

            def of_ours(msg: Any) -> bool:
                return msg.key in keys

            await read_after(
                kafka_bootstrap, start, lambda m: len(mine(m)) >= N_LEADS, keep=of_ours, timeout=120
            )
            await asyncio.sleep(2)  # room for a duplicate to show up, if there were one
            assigned = mine(
                await read_after(kafka_bootstrap, start, lambda m: False, keep=of_ours, timeout=5)
            )

            # Exactly one LeadAssigned per lead, each the first attempt.
            per_lead = Counter(str(e.lead_id) for e in assigned)
            assert set(per_lead) == ours
            assert max(per_lead.values()) == 1
            assert {e.attempt for e in assigned} == {1}

            # Both replicas did part of the work, and between them every lead once.
            done = [_consumed_ok((await http.get(f"{p.url}/metrics")).text) for p in replicas]
            # The API answers the same on either replica.
            for proc in replicas:
                some = lead_ids[0]
                shown = (await http.get(f"{proc.url}/v1/assignments/{some}", headers=ADMIN)).json()
                assert shown["status"] == "assigned"

        rows, assigned_events = await _stored(pg_url)
        assert all(n > 0 for n in done), done
        # Other stacks' tests publish on the shared broker too; without their events here,
        # every qualified event created one row, on one replica.
        alone = len(rows) == N_LEADS
        if alone:
            assert sum(done) == len(rows)
        ours_rows = [r for r in rows if str(r.lead_id) in ours]
        assert len(ours_rows) == N_LEADS
        assert {(r.status, r.attempt) for r in ours_rows} == {("assigned", 1)}
        assert all(assigned_events[r.lead_id] == 1 for r in ours_rows)

        # The shares follow the weights to within one lead (see the module docstring). Other
        # stacks' leads on the shared broker may have come while the team was incomplete:
        # then count what was routed once it was, from the round-robin state that left
        # (inside (-W, W) too), which bounds the deviation by two instead of one.
        total_weight = sum(reps.values())
        counted = rows if alone else [r for r in rows if r.rep_id and r.assigned_at > team_at]
        shares = Counter(str(r.rep_id) for r in counted)
        for rep_id, weight in reps.items():
            expected = len(counted) * weight / total_weight
            assert abs(shares[rep_id] - expected) <= (1 if alone else 1.99), (shares, reps)
        mine_shares = Counter(str(r.rep_id) for r in ours_rows)
        print(
            "two replicas: consumed",
            [int(n) for n in done],
            "shares",
            {weight: mine_shares[rep_id] for rep_id, weight in reps.items()},
        )
        await _fallback_and_queue(replicas, kafka_bootstrap, pg_url)
    finally:
        for proc in replicas:
            if proc.popen is not None:
                proc.terminate()


async def _fallback_and_queue(replicas: list[Proc], bootstrap: str, database_url: str) -> None:
    """A rule with a fallback rep and a queue in play: still each lead handed out once."""
    receiver = Receiver().start()
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            first, second = (p.url for p in replicas)

            async def rep(url: str, name: str, **fields: Any) -> str:
                doc = {"name": name, "email": f"{name.lower()}@seller.example"} | fields
                answer = await http.post(f"{url}/v1/reps", json=doc, headers=ADMIN)
                assert answer.status_code == 201, answer.text
                return str(answer.json()["rep_id"])

            # Antarctica only, so other stacks' leads on the shared broker never reach them;
            # Five, of weight 0, is in no round robin: only the fallback gives it leads.
            four = await rep(first, "Four", territories=["AQ"], max_open_leads=20)
            five = await rep(second, "Five", territories=["AQ"], max_open_leads=20, weight=0)
            rule = {"name": "antarctica", "countries": ["AQ"], "pool": [four]}
            answer = await http.put(
                f"{second}/v1/routing/rules",
                json={"rules": [rule | {"fallback": {"rep": five}}]},
                headers=ADMIN,
            )
            assert answer.status_code == 200, answer.text
            answer = await http.post(
                f"{first}/v1/webhook-endpoints",
                json={"url": receiver.url, "event_types": ["lead.queued"]},
                headers=ADMIN,
            )
            assert answer.status_code == 201, answer.text

            start = await end_offsets(bootstrap, ["leads.assigned"])
            envs = [qualified(country="AQ") for _ in range(N_OVERFLOW)]
            await _send(bootstrap, envs)
            ours = {e.data.lead_id for e in envs}

            async def statuses() -> Counter[str]:
                rows, _ = await _stored(database_url)
                return Counter(r.status for r in rows if r.lead_id in ours)

            async def twenty_waiting() -> bool:
                return (await statuses()) == Counter(assigned=40, queued=20)

            await eventually(twenty_waiting, timeout=120)
            # Room for 20 more, behind the API's back: both replicas' periodic queue passes
            # notice it within LEADFLOW_QUEUE_RETRY_SECONDS and compete for the queue.
            await _set_cap_behind_api(database_url, four, 40)

            async def all_assigned() -> bool:
                return (await statuses()) == Counter(assigned=N_OVERFLOW)

            await eventually(all_assigned, timeout=60)
            rows, handed = await _stored(database_url)
            mine = [r for r in rows if r.lead_id in ours]
            assert all(handed[r.lead_id] == 1 for r in mine), "a lead was handed out twice"
            assert Counter(str(r.rep_id) for r in mine) == {four: 40, five: 20}
            assert len(await _queued_steps(database_url, ours)) == 20

            # Five declines 10 of its leads, half through each replica, all at once.
            fives = sorted(r.lead_id for r in mine if str(r.rep_id) == five)[:10]

            async def decline(url: str, lead_id: uuid.UUID) -> None:
                answer = await http.post(
                    f"{url}/v1/assignments/{lead_id}/decline",
                    json={"rep_id": five, "reason": "not mine"},
                    headers=ADMIN,
                )
                assert answer.status_code == 200, answer.text
                assert answer.json()["outcome"] == "queued"  # Four is full, Five declined

            await asyncio.gather(*(decline((first, second)[i % 2], n) for i, n in enumerate(fives)))
            await _set_cap_behind_api(database_url, four, 50)

            async def declined_ones_reassigned() -> bool:
                return (await statuses()) == Counter(assigned=N_OVERFLOW - 10, reassigned=10)

            await eventually(declined_ones_reassigned, timeout=60)
            await asyncio.sleep(2)  # room for a second hand-out to show up, if there were one
            messages = await read_after(bootstrap, start, lambda m: False, timeout=5)
            await eventually(lambda: len(receiver.snapshot()) >= 30, timeout=30)

        rows, handed = await _stored(database_url)
        mine = [r for r in rows if r.lead_id in ours]
        again = set(fives)
        assert {(r.status, r.attempt) for r in mine if r.lead_id not in again} == {("assigned", 1)}
        assert {(r.status, r.attempt, str(r.rep_id)) for r in mine if r.lead_id in again} == {
            ("reassigned", 2, four)
        }
        # One hand-out per attempt: assigned once, and the declined ones reassigned once.
        assert all(handed[r.lead_id] == r.attempt for r in mine), "a lead was handed out twice"
        assert Counter(str(r.rep_id) for r in mine) == {four: 50, five: 10}
        # One event per ce_id (at-least-once delivery: a re-published batch keeps its ce_ids).
        events = list(
            {e.id: e.data for e in (decode(m.value, m.headers) for m in messages)}.values()
        )
        # Other stacks on the shared broker consume these leads too (their own groups) and
        # may hand them to their own reps: only Four's and Five's events are this team's.
        attempts = Counter(
            (e.lead_id, e.attempt)
            for e in events
            if isinstance(e, LeadAssigned)
            and e.lead_id in ours
            and str(e.rep.rep_id) in (four, five)
        )
        assert attempts == Counter(
            {(r.lead_id, n): 1 for r in mine for n in range(1, r.attempt + 1)}
        )
        queued = await _queued_steps(database_url, ours)
        assert len(queued) == 30, queued  # 20 at first, then the 10 declined
        assert set(queued.values()) == {1}, queued
        told = Counter(uuid.UUID(doc["data"]["lead"]["lead_id"]) for _, doc in receiver.payloads())
        assert told == queued  # one lead.queued per queued lead, to the receiver
    finally:
        receiver.stop()


async def _send(bootstrap: str, envs: list[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for e in envs:
            await producer.send_and_wait(e.topic, e.value(), key=e.key, headers=e.headers())
    finally:
        await producer.stop()


async def _queued_steps(database_url: str, leads: set[uuid.UUID]) -> Counter[uuid.UUID]:
    """How often each of these leads went to the queue (its history's `queued` steps)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            stmt = select(HistoryRow.lead_id).where(HistoryRow.event == "queued")
            return Counter(lead_id for lead_id in await conn.scalars(stmt) if lead_id in leads)
    finally:
        await engine.dispose()
