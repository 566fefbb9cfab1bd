"""`POST/GET /v1/routing/simulations` (SQLite and PostgreSQL): an analyst runs one, it
changes nothing, bad input is a 422 naming the field, too many at once a 429, a simulation
whose process died is failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from assignment_kit import api_rep, app_at, handle, qualified, window
from fastapi import FastAPI
from sqlalchemy import inspect, select, text

from sales_assignment.assigning import Assigner
from sales_assignment.replay_models import SimulationRow
from sales_assignment.simulation_runs import INTERRUPTED, MAX_RUNNING
from support.apps import ADMIN, bearer, json_of
from support.kafka_tools import settled

pytestmark = pytest.mark.postgres
START = datetime.now(UTC).replace(microsecond=0)
WINDOW = window(START)
app = app_at(START)  # the app fixture, its assigner's clock at START


async def tables(a: Assigner) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the service's database but the simulations', row by row (the
    outbox without the simulations' reports to the lab page, on leadflow.lab)."""
    async with a.rt.engine.connect() as conn:
        names = await conn.run_sync(lambda c: inspect(c).get_table_names())
        out = {}
        for name in sorted(set(names) - {"routing_simulations"}):
            where = " WHERE topic <> 'leadflow.lab'" if name == "outbox" else ""
            rows = (await conn.execute(text(f'SELECT * FROM "{name}"{where}'))).all()
            out[name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def run(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    r = await http.post("/v1/routing/simulations", json=body, headers=headers)
    assert r.status_code == 202, r.text
    path = f"/v1/routing/simulations/{r.json()['simulation_id']}"
    r = await settled(
        lambda: http.get(path, headers=headers),
        lambda got: got.status_code != 200 or got.json()["status"] != "running",
        timeout=10,
    )
    return json_of(r)


async def test_an_analyst_runs_one_and_nothing_is_routed_stored_or_sent(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a: Assigner = app.state.assigner
    ann = await api_rep(http, "Ann", weight=1)
    bob = await api_rep(http, "Bob", weight=3, max_open_leads=4)
    hook = {"url": "https://crm.example/hook", "event_types": ["lead.assigned", "lead.queued"]}
    assert (await http.post("/v1/webhook-endpoints", json=hook, headers=ADMIN)).status_code == 201
    for _ in range(8):
        await handle(a, qualified())
        a.clock.advance(60)  # type: ignore[attr-defined]
    analyst = await bearer(http, "analyst")
    before = await tables(a)

    same = await run(http, WINDOW, analyst)
    draft = WINDOW | {"reps": [{"action": "deactivate", "rep_id": bob}]}
    changed = await run(http, draft, analyst)

    assert await tables(a) == before  # no lead, assignment, counter, weight, outbox row, webhook
    assert same["status"] == "done", same
    assert same["reproduced"] == 1.0
    assert same["misses"] == []
    assert same["changed"] == 0
    assert same["request"]["from"].startswith(str((START - timedelta(hours=1)).date()))
    assert changed["status"] == "done"
    per_rep = {r["name"]: (r["actual"], r["simulated"]) for r in changed["per_rep"]}
    assert per_rep == {"Ann": (4, 8), "Bob": (4, 0)}  # Bob's cap queued the rest actually
    assert changed["reproduced"] == 1.0
    assert len(changed["moved"]) == changed["moved_total"] == 4
    assert {m["simulated_rep_id"] for m in changed["moved"]} == {ann}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "to"),
        ({"to": "2027-01-01T00:00:00Z"}, "from"),
        (WINDOW | {"rules": [{"name": "x", "countries": ["Narnia"]}]}, "rules[0].countries[0]"),
        (WINDOW | {"rules": [{"name": "x", "pool": [str(uuid.uuid4())]}]}, "rules[0].pool[0]"),
        (
            WINDOW | {"reps": [{"action": "deactivate", "rep_id": str(uuid.uuid4())}]},
            "reps[0].rep_id",
        ),
        (WINDOW | {"reps": [{"action": "reweight", "rep_id": str(uuid.uuid4())}]}, "reps[0]"),
        (WINDOW | {"reps": [{"action": "fire"}]}, "reps[0].action"),
        (WINDOW | {"reps": [{"action": "cap", "rep_id": str(uuid.uuid4()), "max_open_leads": -1}]},
         "reps[0].max_open_leads"),
        (WINDOW | {"reps": [{"action": "leave", "rep_id": str(uuid.uuid4()),
                             "start": "0001-01-01T00:00+14:00", "end": "2027-01-01T00:00Z"}]},
         "reps[0].start"),
    ],
)  # fmt: skip
async def test_a_bad_request_is_a_422_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await http.post("/v1/routing/simulations", json=body, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in r.json()["errors"]], r.json()


async def test_too_many_at_once_is_a_429_and_a_dead_one_is_failed(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    a: Assigner = app.state.assigner
    now = START
    dead = uuid.uuid4()
    async with a.rt.transaction() as uow:
        for i in range(MAX_RUNNING):
            uow.session.add(
                SimulationRow(
                    id=dead if i == 0 else uuid.uuid4(),
                    status="running",
                    request=WINDOW,
                    requested_by="admin:test",
                    created_at=now,
                    heartbeat_at=now,
                )
            )
    r = await http.post("/v1/routing/simulations", json=WINDOW, headers=ADMIN)
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")

    a.clock.advance(600)  # type: ignore[attr-defined]  # nobody touched their heartbeats
    r = await http.get(f"/v1/routing/simulations/{dead}", headers=ADMIN)
    assert (r.json()["status"], r.json()["error"]) == ("failed", INTERRUPTED)
    async with a.rt.sessions() as s:
        assert (
            await s.scalar(select(SimulationRow.status).where(SimulationRow.id == dead))
        ) == "failed"
    r = await http.post("/v1/routing/simulations", json=WINDOW, headers=ADMIN)
    assert r.status_code == 202, r.text  # the dead ones no longer count
    assert (
        await http.get(f"/v1/routing/simulations/{uuid.uuid4()}", headers=ADMIN)
    ).status_code == 404
