"""sales-assignment on the what-if lab's channel (SQLite and PostgreSQL): a routing request
from `leadflow.lab` runs as `POST /v1/routing/simulations` would, under the requester's id,
and its `running` then `done` reports go out under that id; a wrong request is reported
failed with each field named; a simulation started through the API is reported under its own id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from assignment_kit import (
    api_rep,
    app_at,
    handle,
    lab_reports,
    lab_settled,
    one_lead_routed,
    qualified,
    window,
)
from fastapi import FastAPI

from leadflow import lab
from sales_assignment import lab as routing_lab
from sales_assignment.assigning import Assigner
from support.apps import ADMIN

pytestmark = pytest.mark.postgres
START = datetime.now(UTC).replace(microsecond=0)
WINDOW = window(START)
app = app_at(START)  # the app fixture, its assigner's clock at START


def requested(body: dict[str, Any]) -> lab.SimulationRequested:
    return lab.SimulationRequested(
        simulation_id=uuid.uuid4(),
        kind="routing",
        request=body,
        requested_by="analyst:tok_1",
        requested_at=datetime.now(UTC),
    )


async def test_a_requested_simulation_runs_and_reports_under_the_requesters_id(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a: Assigner = app.state.assigner
    ann = await api_rep(http, "Ann", weight=1)
    bob = await api_rep(http, "Bob", weight=3)
    for _ in range(8):
        await handle(a, qualified())
        a.clock.advance(60)  # type: ignore[attr-defined]
    message = requested(WINDOW | {"reps": [{"action": "deactivate", "rep_id": bob}]})
    await routing_lab.follower(a)(message)
    running, done = await lab_settled(a, 2)
    assert (running.simulation_id, running.status) == (message.simulation_id, "running")
    own = running.report["simulation_id"]
    assert own == str(message.simulation_id)  # the requester's id, for this service's GET too
    assert (done.simulation_id, done.status) == (message.simulation_id, "done")
    assert done.report["simulation_id"] == own
    assert done.report["requested_by"] == "analyst:tok_1"
    per_rep = {r["rep_id"]: r["simulated"] for r in done.report["per_rep"]}
    assert per_rep == {ann: 8, bob: 0}
    assert done.report["reproduced"] == 1.0
    api = await http.get(f"/v1/routing/simulations/{own}", headers=ADMIN)
    assert api.json() == done.report  # the report is the API's answer


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2027-01-01T00:00:00Z"}, "from"),
        (WINDOW | {"reps": [{"action": "deactivate", "rep_id": str(uuid.UUID(int=5))}]},
         "reps[0].rep_id"),
        (WINDOW | {"surprise": 1}, "surprise"),
    ],
)  # fmt: skip
async def test_a_wrong_request_is_reported_failed_naming_the_field(
    app: FastAPI, body: dict[str, Any], field: str
) -> None:
    a: Assigner = app.state.assigner
    message = requested(body)
    await routing_lab.follower(a)(message)
    [failed] = await lab_reports(a)
    assert (failed.simulation_id, failed.status) == (message.simulation_id, "failed")
    assert failed.report["error"] == "invalid request"
    assert field in [e["field"] for e in failed.report["errors"]]


async def test_an_old_request_or_another_kind_is_not_run(app: FastAPI) -> None:
    a: Assigner = app.state.assigner
    old = requested(WINDOW).model_copy(update={"requested_at": START - timedelta(hours=2)})
    await routing_lab.follower(a)(old)
    scoring = requested(WINDOW).model_copy(update={"kind": "scoring"})
    await routing_lab.follower(a)(scoring)
    [expired] = await lab_reports(a)
    assert expired.simulation_id == old.simulation_id
    assert expired.report["error"].startswith("expired")


async def test_a_simulation_started_through_the_api_is_reported_under_its_own_id(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a, _ = await one_lead_routed(app, http)
    started = await http.post("/v1/routing/simulations", json=WINDOW, headers=ADMIN)
    assert started.status_code == 202, started.text
    own = started.json()["simulation_id"]
    [done] = await lab_settled(a, 1)
    assert str(done.simulation_id) == own
    assert done.status == "done"
    assert done.report["leads"] == 1
