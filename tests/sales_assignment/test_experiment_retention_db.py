"""Retention of routing experiments' decisions, on SQLite and PostgreSQL: those of an
experiment ended longer ago than LEADFLOW_EXPERIMENT_RETENTION_DAYS (400) are deleted by
the service's retention pass; a running experiment's are kept however old they are."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from assignment_kit import FakeClock, api_rep, check_setting, qualified
from fastapi import FastAPI

from leadflow.events import LeadQualified
from sales_assignment import experiment_repo, retention
from sales_assignment.assigning import Assigner
from support.apps import ADMIN, runtime
from support.kafka_tools import eventually

pytestmark = pytest.mark.postgres
NOW = datetime.now(UTC)


async def route(a: Assigner, n: int) -> None:
    async with a.rt.transaction() as uow:
        await a.batch_handlers()[LeadQualified](uow, [qualified(uuid.uuid4()) for _ in range(n)])


async def decisions(http: httpx.AsyncClient, experiment_id: str) -> int:
    r = await http.get(f"/v1/routing/experiments/{experiment_id}", headers=ADMIN)
    assert r.status_code == 200, r.text
    return sum(int(arm["decisions"]) for arm in r.json()["arms"].values())


async def run(a: Assigner, http: httpx.AsyncClient, name: str, rep: str, days_ago: float) -> str:
    """Start a split experiment `days_ago` and route 6 leads through it then."""
    assert isinstance(a.clock, FakeClock)
    a.clock.now = NOW - timedelta(days=days_ago)
    body = {"name": name, "mode": "split", "share": 0.5, "rules": [{"name": "r", "pool": [rep]}]}
    r = await http.post("/v1/routing/experiments", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    await route(a, 6)
    experiment_id: str = r.json()["experiment_id"]
    assert await decisions(http, experiment_id) == 6
    return experiment_id


async def end(a: Assigner, http: httpx.AsyncClient, experiment_id: str, days_ago: float) -> None:
    assert isinstance(a.clock, FakeClock)
    a.clock.now = NOW - timedelta(days=days_ago)
    url = f"/v1/routing/experiments/{experiment_id}/end"
    r = await http.post(url, json={"promote": False}, headers=ADMIN)
    assert r.status_code == 200, r.text


async def test_decisions_of_experiments_ended_past_the_retention_go_running_ones_stay(
    app: FastAPI, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    a: Assigner = app.state.assigner
    a.clock = FakeClock(NOW)
    ann = await api_rep(http, "Ann")
    old = await run(a, http, "old", ann, days_ago=900)
    # Running: its decisions are kept however old they are.
    assert await retention.purge_experiment_decisions(a.rt, 400) == 0
    assert await decisions(http, old) == 6
    await end(a, http, old, days_ago=800)
    recent = await run(a, http, "recent", ann, days_ago=700)
    await end(a, http, recent, days_ago=399)  # decided long ago, ended within the retention
    current = await run(a, http, "current", ann, days_ago=1)

    monkeypatch.setattr(experiment_repo, "PURGE_BATCH", 4)  # old's 6 go in two transactions
    async with a.rt.transaction() as uow:  # one transaction deletes one batch at most
        assert await experiment_repo.purge_decisions(uow.session, NOW - timedelta(400)) == 4
    assert await decisions(http, old) == 2
    [purge] = [w for n, w in runtime(app).workers if n == "experiment-retention"]
    task = asyncio.create_task(purge())  # the runtime's background task, default 400 days

    async def old_gone() -> bool:
        return await decisions(http, old) == 0

    try:
        await eventually(old_gone, timeout=10)
    finally:
        task.cancel()
    assert (await decisions(http, recent), await decisions(http, current)) == (6, 6)
    r = await http.get("/v1/routing/experiments", headers=ADMIN)
    assert [e["name"] for e in r.json()] == ["current", "recent", "old"]  # the rows stay


def test_the_retention_is_a_positive_number_of_days(monkeypatch: pytest.MonkeyPatch) -> None:
    env, name = "LEADFLOW_EXPERIMENT_RETENTION_DAYS", "experiment_retention_days"
    check_setting(monkeypatch, env, name, 400, good=30, bad=("0", "-1", "soon"))
