"""Roles on assignments: a rep reads and accepts only its own leads; analysts read, never
accept; a sales tool reads and accepts any lead."""

from __future__ import annotations

import uuid

import httpx
from assignment_kit import handle, qualified
from fastapi import FastAPI

from support.apps import ADMIN, bearer

REP = {"name": "Ann", "email": "ann@seller.example", "territories": ["DE"]}


async def assigned_lead(app: FastAPI) -> uuid.UUID:
    env = qualified(country="DE")
    await handle(app.state.assigner, env)
    return env.data.lead_id


async def test_a_rep_sees_and_accepts_its_own_lead_and_no_other(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = (await http.post("/v1/reps", json=REP, headers=ADMIN)).json()["rep_id"]
    lead_id = await assigned_lead(app)
    own = await bearer(http, "rep", ann)
    other = await bearer(http, "rep", str(uuid.uuid4()))

    r = await http.get(f"/v1/assignments/{lead_id}", headers=other)
    assert r.status_code == 403, r.text
    r = await http.post(f"/v1/assignments/{lead_id}/accept", headers=other)
    assert r.status_code == 403, r.text
    shown = await http.get(f"/v1/assignments/{lead_id}", headers=own)
    assert (shown.status_code, shown.json()["status"]) == (200, "assigned")  # not accepted above
    accepted = await http.post(f"/v1/assignments/{lead_id}/accept", headers=own)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")


async def test_a_rep_token_reads_no_reps_and_changes_nothing(http: httpx.AsyncClient) -> None:
    rep = await bearer(http, "rep", str(uuid.uuid4()))
    assert (await http.get("/v1/reps", headers=rep)).status_code == 403
    assert (await http.post("/v1/reps", json=REP, headers=rep)).status_code == 403


async def test_an_analyst_reads_but_never_accepts(app: FastAPI, http: httpx.AsyncClient) -> None:
    await http.post("/v1/reps", json=REP, headers=ADMIN)
    lead_id = await assigned_lead(app)
    analyst = await bearer(http, "analyst")
    assert (await http.get(f"/v1/assignments/{lead_id}", headers=analyst)).status_code == 200
    assert (await http.get("/v1/reps", headers=analyst)).status_code == 200
    r = await http.post(f"/v1/assignments/{lead_id}/accept", headers=analyst)
    assert r.status_code == 403
    assert (await http.post("/v1/reps", json=REP, headers=analyst)).status_code == 403


async def test_a_sales_tool_reads_and_accepts_any_lead(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    await http.post("/v1/reps", json=REP, headers=ADMIN)
    lead_id = await assigned_lead(app)
    tool = await bearer(http, "sales_tool", "crm")
    assert (await http.get(f"/v1/assignments/{lead_id}", headers=tool)).status_code == 200
    r = await http.post(f"/v1/assignments/{lead_id}/accept", headers=tool)
    assert r.status_code == 200
    assert (await http.get("/v1/reps", headers=tool)).status_code == 403


async def test_a_rep_subject_is_a_uuid_and_compared_as_one(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    queued = await assigned_lead(app)  # no reps yet: queued, assigned to nobody
    r = await http.post("/v1/tokens", json={"role": "rep", "subject": "None"}, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["subject"]
    anyone = await bearer(http, "rep", str(uuid.uuid4()))
    assert (await http.get(f"/v1/assignments/{queued}", headers=anyone)).status_code == 403
    ann = (await http.post("/v1/reps", json=REP, headers=ADMIN)).json()["rep_id"]
    lead_id = await assigned_lead(app)
    upper = await bearer(http, "rep", ann.upper())  # the same rep, another spelling
    assert (await http.get(f"/v1/assignments/{lead_id}", headers=upper)).status_code == 200
    r = await http.post(f"/v1/assignments/{lead_id}/accept", headers=upper)
    assert r.status_code == 200, r.text
