"""Routing simulations as stored jobs (SQLite and PostgreSQL): the running limit holds for
replicas started at once, a simulation whose process died is failed and reported without
anyone asking, a lab request delivered again is not run twice, reports keep no rep names."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from assignment_kit import app_at, check_setting, lab_reports, lab_settled, one_lead_routed, window
from fastapi import FastAPI
from sqlalchemy import select

from leadflow import lab
from sales_assignment import lab as routing_lab
from sales_assignment import simulation, simulation_runs
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.replay_models import SimulationRow
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, build, client, dispose
from support.kafka_tools import settled

pytestmark = pytest.mark.postgres
START = datetime.now(UTC).replace(microsecond=0)
WINDOW = window(START)
app = app_at(START)  # the app fixture, its assigner's clock at START


async def test_replicas_started_at_once_run_no_more_than_the_limit(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    go = asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> dict[str, Any]:
        await go.wait()  # each replay runs until the test is done counting
        return {}

    monkeypatch.setattr(simulation, "simulate", held)
    apps = [
        await build(AssignmentSettings, build_app, MIGRATIONS, pg_url, simulations_max_running=3)
        for _ in range(2)
    ]  # two replicas on one database, each with its own process slots
    try:
        async with client(apps[0]) as one, client(apps[1]) as two:
            answers = await asyncio.gather(
                *(
                    (one, two)[i % 2].post("/v1/routing/simulations", json=WINDOW, headers=ADMIN)
                    for i in range(20)
                )
            )
            codes = sorted(r.status_code for r in answers)
            assert codes == [202] * 3 + [429] * 17, [r.text for r in answers]
            too_many = next(r for r in answers if r.status_code == 429)
            assert too_many.headers["Retry-After"] == str(simulation_runs.RETRY_AFTER)
            assert "LEADFLOW_SIMULATIONS_MAX_RUNNING" in too_many.json()["detail"]
            go.set()
            await settled(  # all three finish, and free their slots
                lambda: one.post("/v1/routing/simulations", json=WINDOW, headers=ADMIN),
                lambda r: r.status_code == 202,
                timeout=10,
            )
    finally:
        go.set()
        for app in apps:
            await dispose(app)


async def test_a_simulation_whose_process_died_is_failed_and_reported_by_the_sweep(
    app: FastAPI,
) -> None:
    a: Assigner = app.state.assigner
    dead, alive = uuid.uuid4(), uuid.uuid4()
    async with a.rt.transaction() as uow:
        for sid, beat in ((dead, START - timedelta(minutes=10)), (alive, START)):
            uow.session.add(
                SimulationRow(
                    id=sid,
                    status="running",
                    request=WINDOW,
                    requested_by="analyst:tok_1",
                    created_at=beat,
                    heartbeat_at=beat,
                )
            )

    assert await simulation_runs.sweep(a) == 1
    assert await simulation_runs.sweep(a) == 0  # reported once, by whoever came first
    [failed] = await lab_reports(a)
    assert (failed.simulation_id, failed.status) == (dead, "failed")
    assert failed.report["error"] == simulation_runs.INTERRUPTED
    async with a.rt.sessions() as s:
        rows = dict((await s.execute(select(SimulationRow.id, SimulationRow.status))).all())
    assert rows == {dead: "failed", alive: "running"}


async def test_a_lab_request_delivered_again_runs_once_and_is_told_again(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a, _ = await one_lead_routed(app, http)
    message = lab.SimulationRequested(
        simulation_id=uuid.uuid4(),
        kind="routing",
        request=WINDOW,
        requested_by="analyst:tok_1",
        requested_at=datetime.now(UTC),
    )
    follower = routing_lab.follower(a)
    await follower(message)
    running, done = await lab_settled(a, 2)
    await follower(message)  # redelivered: after a restart, or to another replica
    *_, again = await lab_settled(a, 3)

    async with a.rt.sessions() as s:
        assert list(await s.scalars(select(SimulationRow.id))) == [message.simulation_id]
    assert [m.status for m in (running, done, again)] == ["running", "done", "done"]
    assert {m.simulation_id for m in (running, done, again)} == {message.simulation_id}
    assert done.report["simulation_id"] == str(message.simulation_id)  # one id, page and API
    assert again.report == done.report
    assert len(await lab_reports(a)) == 3  # and nothing ran a second time


async def test_a_report_is_stored_without_rep_names_and_read_with_them(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a, ann = await one_lead_routed(app, http)
    draft = WINDOW | {"reps": [{"action": "add", "name": "Zed"}]}
    started = await http.post("/v1/routing/simulations", json=draft, headers=ADMIN)
    assert started.status_code == 202, started.text
    sid = uuid.UUID(started.json()["simulation_id"])
    await lab_settled(a, 1)

    async with a.rt.sessions() as s:
        stored = await s.scalar(select(SimulationRow.report).where(SimulationRow.id == sid))
    assert stored is not None
    assert "Ann" not in str(stored)
    assert all("name" not in line for line in stored["per_rep"] + stored["fairness"])
    body = (await http.get(f"/v1/routing/simulations/{sid}", headers=ADMIN)).json()
    zed = body["request"]["reps"][0]["rep_id"]  # an added rep gets its id with the request
    names = {ann: "Ann", zed: "Zed"}
    lines = body["per_rep"] + body["fairness"]
    assert ann in {r["rep_id"] for r in body["per_rep"]}
    assert [(r["rep_id"], r["name"]) for r in lines] == [
        (r["rep_id"], names[r["rep_id"]]) for r in lines
    ]


@pytest.mark.parametrize(
    ("env", "name", "default", "bad"),
    [
        ("LEADFLOW_SIMULATIONS_MAX_RUNNING", "simulations_max_running", 2, ("0", "17", "many")),
        ("LEADFLOW_REPLAY_RETENTION_DAYS", "replay_retention_days", 400, ("0", "-1", "soon")),
        ("LEADFLOW_SIMULATION_RETENTION_DAYS", "simulation_retention_days", 90, ("0", "x")),
    ],
)
def test_the_lab_settings_have_their_defaults_and_refuse_nonsense(
    monkeypatch: pytest.MonkeyPatch, env: str, name: str, default: float, bad: tuple[str, ...]
) -> None:
    check_setting(monkeypatch, env, name, default, good=3, bad=bad)
