"""A retired rep (DELETE /v1/reps/{id}) or an inactive one keeps no access through its token,
and a retired rep's unaccepted leads go on to other reps at once, the history saying why."""

from __future__ import annotations

import uuid

import httpx
from assignment_kit import api_rep, handle, qualified
from fastapi import FastAPI

from support.apps import ADMIN, bearer


async def rep(http: httpx.AsyncClient, name: str) -> str:
    return await api_rep(http, name, territories=["DE"])


async def token_of(http: httpx.AsyncClient, rep_id: str) -> dict[str, str]:
    return await bearer(http, "rep", rep_id)


async def new_lead(app: FastAPI) -> uuid.UUID:
    env = qualified(country="DE")
    await handle(app.state.assigner, env)
    return env.data.lead_id


async def owner(http: httpx.AsyncClient, lead_id: uuid.UUID) -> str | None:
    view = (await http.get(f"/v1/assignments/{lead_id}", headers=ADMIN)).json()
    return view["rep"]["rep_id"] if view["rep"] else None


async def test_a_retired_rep_neither_reads_nor_accepts_and_its_leads_go_on_at_once(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = await rep(http, "Ann"), await rep(http, "Bob")
    leads = [await new_lead(app) for _ in range(4)]
    anns = [lead for lead in leads if await owner(http, lead) == ann]
    assert len(anns) == 2  # round robin: two each
    token = await token_of(http, ann)
    kept = anns[0]
    assert (await http.post(f"/v1/assignments/{kept}/accept", headers=token)).status_code == 200

    assert (await http.delete(f"/v1/reps/{ann}", headers=ADMIN)).status_code == 204

    r = await http.get(f"/v1/assignments/{kept}", headers=token)  # still hers, but she is gone
    assert r.status_code == 403, r.text
    assert "retired" in r.json()["detail"]
    moved = anns[1]
    assert (await http.get(f"/v1/assignments/{moved}", headers=token)).status_code == 403
    r = await http.post(f"/v1/assignments/{moved}/accept", headers=token)
    assert r.status_code == 403, r.text
    # Not waiting for the SLA pass: the unaccepted lead is Bob's now, the accepted one stays.
    view = (await http.get(f"/v1/assignments/{moved}", headers=ADMIN)).json()
    assert (view["rep"]["rep_id"], view["status"], view["attempt"]) == (bob, "reassigned", 2)
    steps = [(h["event"], h["reason"]) for h in view["history"]]
    assert [e for e, _ in steps][-2:] == ["rep_retired", "reassigned"]
    assert steps[-2][1]["detail"] == "Ann was retired before accepting the lead"
    assert await owner(http, kept) == ann
    assert await app.state.assigner.check_sla() == 0  # nothing left due for the SLA pass
    bobs = await token_of(http, bob)
    assert (await http.post(f"/v1/assignments/{moved}/accept", headers=bobs)).status_code == 200


async def test_a_retired_reps_leads_are_queued_when_nobody_else_can_take_them(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await rep(http, "Ann")
    lead = await new_lead(app)
    assert await owner(http, lead) == ann
    assert (await http.delete(f"/v1/reps/{ann}", headers=ADMIN)).status_code == 204
    view = (await http.get(f"/v1/assignments/{lead}", headers=ADMIN)).json()
    assert (view["rep"], view["status"]) == (None, "queued")
    assert [h["event"] for h in view["history"]][-2:] == ["rep_retired", "queued"]
    cid = await rep(http, "Cid")  # the queue drains to the next rep
    assert await owner(http, lead) == cid


async def test_an_inactive_reps_token_neither_reads_nor_accepts(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await rep(http, "Ann")
    lead = await new_lead(app)
    token = await token_of(http, ann)
    assert (await http.get(f"/v1/assignments/{lead}", headers=token)).status_code == 200
    r = await http.patch(f"/v1/reps/{ann}", json={"active": False}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await http.get(f"/v1/assignments/{lead}", headers=token)).status_code == 403
    assert (await http.post(f"/v1/assignments/{lead}/accept", headers=token)).status_code == 403
    r = await http.patch(f"/v1/reps/{ann}", json={"active": True}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert (await http.post(f"/v1/assignments/{lead}/accept", headers=token)).status_code == 200
