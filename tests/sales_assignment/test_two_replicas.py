"""Two sales-assignment processes, one PostgreSQL, one broker: every lead has exactly one owner.

Both processes join one consumer group (unique to this test, placed at the topics' end), so
each consumes its share of the six `leads.qualified` partitions, and both route against the
same database under the routing lock. 300 qualified leads are published straight to Kafka.

Why the shares can be checked almost exactly: smooth weighted round robin keeps each rep's
count after n picks within one of n * w / W (its current weight c = n*w - W*count stays
inside (-W, W)), and the routing lock makes the two replicas one sequence of picks over one
shared state. With weights 1, 2, 3 and 300 leads that is 50 / 100 / 150; a lost or doubled
round-robin update would show as a deviation of more than one lead.
"""

from __future__ import annotations

import asyncio
import os
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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from leadflow.events import TOPICS, LeadAssigned, decode
from sales_assignment.models import AssignmentRow, HistoryRow
from support.infra import free_port
from support.kafka_tools import end_offsets, eventually, place_group_at_end, read_after
from support.stack import ADMIN_TOKEN, Proc

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

N_LEADS = 300
WEIGHTS = {"One": 1, "Two": 2, "Three": 3}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
_ASSIGNED = re.compile(r"topic='leads\.qualified', partition=(\d+)")


def _replica(i: int, base: Path, bootstrap: str, group: str, database_url: str) -> Proc:
    data = base / f"replica-{i}"
    data.mkdir(parents=True)
    env = {
        **os.environ,
        "LEADFLOW_ENV": "dev",
        "LEADFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
        "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
        "LEADFLOW_HTTP_PORT": str(free_port()),
        "LEADFLOW_DATA_DIR": str(data),
        "LEADFLOW_DATABASE_URL": database_url,
        "LEADFLOW_CONSUMER_GROUP": group,
        "LEADFLOW_RELAY_POLL_SECONDS": "0.2",
        "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "3600",  # no SLA re-routing during the test
    }
    return Proc("sales-assignment", int(env["LEADFLOW_HTTP_PORT"]), env, base / f"replica-{i}.log")


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
                out = []
                for msg in messages:
                    event = decode(msg.value, msg.headers).data
                    # Other stacks on the shared broker may also consume our leads (their own
                    # groups) and assign them to their reps: only our reps' events count.
                    if (
                        isinstance(event, LeadAssigned)
                        and str(event.lead_id) in ours
                        and str(event.rep.rep_id) in reps
                    ):
                        out.append(event)
                return out

            await read_after(kafka_bootstrap, start, lambda m: len(mine(m)) >= N_LEADS, timeout=120)
            await asyncio.sleep(2)  # room for a duplicate to show up, if there were one
            assigned = mine(await read_after(kafka_bootstrap, start, lambda m: False, timeout=5))

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
    finally:
        for proc in replicas:
            if proc.popen is not None:
                proc.terminate()
