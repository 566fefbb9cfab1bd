"""The HTTP API in process on a real database: reps, assignments, webhook endpoints."""

from __future__ import annotations

import uuid

import httpx
import pytest
from assignment_kit import qualified
from fastapi import FastAPI

from support.apps import ADMIN

pytestmark = pytest.mark.postgres


REP = {
    "name": "Ann",
    "email": "Ann@Seller.example",
    "weight": 2,
    "territories": ["emea", "US"],
    "segments": ["smb"],
    "timezone": "Europe/Berlin",
    "working_hours": {"mon": ["09:00-17:00"]},
    "out_of_office": [{"start": "2030-01-01T00:00:00Z", "end": "2030-01-08T00:00:00Z"}],
}


async def test_reps_are_created_listed_changed_and_retired(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/reps", json=REP)).status_code == 401
    created = await http.post("/v1/reps", json=REP, headers=ADMIN)
    assert created.status_code == 201, created.text
    rep = created.json()
    assert (rep["email"], rep["territories"], rep["open_leads"]) == (
        "ann@seller.example",
        ["EMEA", "US"],
        0,
    )
    rep_id = rep["rep_id"]
    assert [r["rep_id"] for r in (await http.get("/v1/reps", headers=ADMIN)).json()] == [rep_id]
    patched = await http.patch(
        f"/v1/reps/{rep_id}", json={"active": False, "working_hours": None}, headers=ADMIN
    )
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["working_hours"]) == (False, None)
    assert (await http.delete(f"/v1/reps/{rep_id}", headers=ADMIN)).status_code == 204
    assert (await http.get(f"/v1/reps/{rep_id}", headers=ADMIN)).status_code == 404


async def test_bad_rep_fields_are_each_named(http: httpx.AsyncClient) -> None:
    bad = REP | {
        "weight": -1,
        "timezone": "Mars/Olympus",
        "territories": ["EU"],
        "segments": ["huge"],
        "working_hours": {"mon": ["17:00-09:00"]},
        "out_of_office": [{"start": "2030-01-08T00:00:00Z", "end": "2030-01-01T00:00:00Z"}],
    }
    answer = await http.post("/v1/reps", json=bad, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"weight", "timezone", "territories.0", "segments.0", "working_hours"} <= fields
    assert any(f.startswith("out_of_office.0") for f in fields)


async def test_an_assignment_is_shown_and_accepted_once(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    rep_id = (
        await http.post(
            "/v1/reps", json=REP | {"working_hours": None, "out_of_office": []}, headers=ADMIN
        )
    ).json()["rep_id"]
    env = qualified(country="DE")
    lead_id = env.data.lead_id
    assigner = app.state.assigner
    async with assigner.rt.transaction() as uow:
        await assigner.on_qualified(uow, env)

    shown = (await http.get(f"/v1/assignments/{lead_id}", headers=ADMIN)).json()
    assert (shown["rep"]["rep_id"], shown["status"], shown["attempt"]) == (rep_id, "assigned", 1)
    assert [h["event"] for h in shown["history"]] == ["assigned"]
    accepted = await http.post(f"/v1/assignments/{lead_id}/accept", headers=ADMIN)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
    again = await http.post(f"/v1/assignments/{lead_id}/accept", headers=ADMIN)
    assert again.status_code == 409
    missing = await http.post(f"/v1/assignments/{uuid.uuid4()}/accept", headers=ADMIN)
    assert missing.status_code == 404


async def test_webhook_endpoints_and_their_deliveries(http: httpx.AsyncClient) -> None:
    bad = await http.post("/v1/webhook-endpoints", json={"url": "ftp://x"}, headers=ADMIN)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "url"
    bad = await http.post(
        "/v1/webhook-endpoints",
        json={"url": "http://x.example", "event_types": ["lead.won"]},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    created = await http.post(
        "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=ADMIN
    )
    assert created.status_code == 201
    doc = created.json()
    assert doc["secret"].startswith("whsec_")
    assert doc["event_types"] == ["lead.assigned", "lead.reassigned"]
    listed = await http.get(f"/v1/webhook-endpoints/{doc['id']}/deliveries", headers=ADMIN)
    assert (listed.status_code, listed.json()) == (200, [])
    retry = await http.post(
        f"/v1/webhook-endpoints/{doc['id']}/deliveries/msg_nope/retry", headers=ADMIN
    )
    assert retry.status_code == 404
