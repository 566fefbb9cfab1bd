"""`make bench` on topics of its own (LEADFLOW_KAFKA_TOPIC_PREFIX, `bench.` in scripts/bench.sh):
its leads land on the prefixed topics, never on the contract's that `make run` reads, and
the prefixed topics are deleted afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from leadflow.events import TOPICS, LeadOutcome
from support.infra import ROOT
from support.kafka_tools import end_offsets, read_after

pytestmark = pytest.mark.kafka

# Produces one outcome as the benchmarks do, then prints the lead id.
PRODUCE = """
import asyncio, uuid
from datetime import UTC, datetime
from bench._kafka_bench import produce
from leadflow.events import Envelope, LeadOutcome
from leadflow.kafka import ensure_topics
from bench._kafka_bench import BOOTSTRAP, PREFIX
lead = uuid.uuid4()
env = Envelope(data=LeadOutcome(lead_id=lead, stage="won", occurred_at=datetime.now(UTC)),
               source="/bench")
asyncio.run(ensure_topics(BOOTSTRAP, [LeadOutcome.topic], partitions=1, prefix=PREFIX))
asyncio.run(produce([env]))
print(lead)
"""


async def topics_now(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def bench_python(args: list[str], prefix: str, bootstrap: str) -> str:
    env = {
        **os.environ,
        "LEADFLOW_KAFKA_TOPIC_PREFIX": prefix,
        "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
    }
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


async def test_bench_leads_go_to_its_own_topics_which_are_deleted_after(
    kafka_bootstrap: str,
) -> None:
    prefix = f"b{uuid.uuid4().hex[:8]}."
    contract = LeadOutcome.topic
    before = await end_offsets(kafka_bootstrap, [contract])
    lead = bench_python(["-c", PRODUCE], prefix, kafka_bootstrap).splitlines()[-1]

    ours = await end_offsets(kafka_bootstrap, [prefix + contract])
    assert sum(ours.values()) == 1  # on the bench's topic
    seen = await read_after(kafka_bootstrap, before, lambda _: False, timeout=2)
    assert lead.encode() not in {m.key for m in seen}  # not on the contract's

    said = bench_python(["-m", "bench._kafka_bench", "drop-topics"], prefix, kafka_bootstrap)
    # The topic, its DLQ, and the bench's own what-if lab topic (internal, but prefixed).
    assert said == f"bench topics deleted: 3 ({prefix}*)"
    left = await topics_now(kafka_bootstrap)
    assert not {t for t in left if t.startswith(prefix)}
    assert set(TOPICS) <= left  # the contract's topics are kept
