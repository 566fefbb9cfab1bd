"""Routing experiments on the lab channel, through the API on SQLite and PostgreSQL: starting
one publishes it on `leadflow.lab` (`io.leadflow.lab.experiment.reported.v1`, staged in the
outbox with the start), the runtime's worker publishes the running one as it stands, ending
it (or promoting it) publishes its final state; a shadow's report carries would-differ and
per rep actual vs shadow by rep id, no rep name."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest
from assignment_kit import api_rep
from fastapi import FastAPI
from test_routing_experiments_db import end, ids, route_all, start

from leadflow import lab
from leadflow.kafka import LAB_TOPIC
from leadflow.outbox import outbox_table
from sales_assignment import experiment_reports
from sales_assignment.assigning import Assigner
from support.apps import runtime
from support.kafka_tools import settled

pytestmark = pytest.mark.postgres


async def reports(app: FastAPI) -> list[lab.ExperimentReported]:
    """The experiment reports staged in the outbox, in order."""
    async with runtime(app).sessions() as s:
        query = outbox_table.select().where(outbox_table.c.topic == LAB_TOPIC)
        rows = (await s.execute(query.order_by(outbox_table.c.id))).all()
    found = [lab.decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in rows]
    return [m for m in found if isinstance(m, lab.ExperimentReported)]


async def test_a_shadow_is_reported_at_its_start_while_it_runs_and_at_its_end(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = [await api_rep(http, n) for n in ("Ann", "Bob")]
    exp = await start(http, name="bob-only", mode="shadow", rules=[{"name": "b", "pool": [bob]}])
    [started] = await reports(app)
    assert started.experiment_id == uuid.UUID(exp["experiment_id"])
    assert (started.name, started.mode, started.status, started.ended_at) == (
        "bob-only",
        "shadow",
        "running",
        None,
    )
    assert started.shadow is not None
    assert started.shadow.decisions == 0
    assert started.arms["control"] == {"decisions": 0, "leads": 0}

    await route_all(app, ids(6, "reported"))
    [worker] = [w for n, w in runtime(app).workers if n == "experiment-report"]
    task = asyncio.create_task(worker())  # the runtime's background pass, each minute
    try:
        await settled(lambda: reports(app), lambda found: len(found) == 2, timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    running = (await reports(app))[1]
    assert running.status == "running"
    assert running.reported_at >= started.reported_at
    assert running.arms["control"] == {"decisions": 6, "leads": 6}
    assert running.shadow is not None
    assert (running.shadow.decisions, running.shadow.would_differ) == (6, 3)
    per_rep = {str(r.rep_id): (r.actual, r.shadow) for r in running.shadow.per_rep}
    assert per_rep == {bob: (3, 6), ann: (3, 0)}
    assert "Ann" not in running.model_dump_json()  # by id only: the page names reps

    await end(http, exp["experiment_id"], promote=False)
    ended = (await reports(app))[-1]
    assert (ended.status, ended.ended_at is not None) == ("ended", True)
    assert ended.shadow is not None
    assert ended.shadow.decisions == 6
    a: Assigner = app.state.assigner
    assert not await experiment_reports.report_running(a)  # none runs: nothing published
    assert len(await reports(app)) == 3


async def test_a_promoted_split_is_reported_with_its_share_and_arms(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    await api_rep(http, "Ann")  # the control arm's round robin has two reps
    rules = [{"name": "bob-only", "pool": [await api_rep(http, "Bob")]}]
    exp = await start(http, name="half", mode="split", share=0.5, rules=rules)
    await route_all(app, ids(10, "split-reported"))
    await end(http, exp["experiment_id"], promote=True)
    started, promoted = await reports(app)
    assert (started.mode, started.share, started.status) == ("split", 0.5, "running")
    assert (promoted.status, promoted.shadow) == ("promoted", None)
    arms = promoted.arms
    assert arms["control"]["decisions"] + arms["variant"]["decisions"] == 10
    assert arms["variant"]["decisions"] > 0
