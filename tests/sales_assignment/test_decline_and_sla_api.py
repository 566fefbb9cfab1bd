"""Declining a lead and SLAs counted in working hours, through the API on a real database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from assignment_kit import FakeClock, api_rep, handle, outcome, qualified
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import select

from leadflow.events import Envelope, LeadAssigned, LeadErased, decode
from leadflow.outbox import outbox_table
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, bearer, build, client, dispose, json_of

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = await build(
        AssignmentSettings, build_app, MIGRATIONS, database_url, assignment_sla_seconds=900
    )
    app.state.assigner.clock = FakeClock(datetime.now(UTC))
    yield app
    await dispose(app)


def assigner(app: FastAPI) -> Assigner:
    a: Assigner = app.state.assigner
    return a


def clock(app: FastAPI) -> FakeClock:
    c = assigner(app).clock
    assert isinstance(c, FakeClock)
    return c


async def new_lead(app: FastAPI) -> str:
    env = qualified(country="DE")
    await handle(assigner(app), env)
    return str(env.data.lead_id)


async def shown(http: httpx.AsyncClient, lead_id: str) -> dict[str, Any]:
    return json_of(await http.get(f"/v1/assignments/{lead_id}", headers=ADMIN))


async def attempts(app: FastAPI, lead_id: str) -> list[int]:
    """The attempt of each `leads.assigned` event of the lead in the outbox."""
    async with assigner(app).rt.sessions() as s:
        stmt = select(outbox_table).where(outbox_table.c.topic == LeadAssigned.topic)
        rows = (await s.execute(stmt.order_by(outbox_table.c.id))).all()
    found = [decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in rows if r.value]
    return [
        e.data.attempt
        for e in found
        if isinstance(e.data, LeadAssigned) and str(e.data.lead_id) == lead_id
    ]


async def test_a_rep_declines_its_lead_and_it_goes_at_once_to_the_next_rep_saying_why(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    reps = {await api_rep(http, "Ann"), await api_rep(http, "Bob")}
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["lead.assigned", "lead.reassigned"]}
    assert (await http.post("/v1/webhook-endpoints", json=hook, headers=ADMIN)).status_code == 201
    lead_id = await new_lead(app)
    first = (await shown(http, lead_id))["rep"]["rep_id"]
    (second,) = reps - {first}
    path = f"/v1/assignments/{lead_id}/decline"

    r = await http.post(path, json={"reason": "no"}, headers=await bearer(http, "rep", second))
    assert r.status_code == 403, r.text
    own = await bearer(http, "rep", first)
    r = await http.post(path, json={"reason": "  I know this person  "}, headers=own)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["declined_by"], answer["reason"], answer["outcome"]) == (
        first,
        "I know this person",
        "reassigned",
    )
    doc = await shown(http, lead_id)
    assert (doc["rep"]["rep_id"], doc["status"], doc["attempt"]) == (second, "reassigned", 2)
    steps = [(h["event"], h["rep_id"]) for h in doc["history"]]
    assert steps == [("assigned", first), ("declined", first), ("reassigned", second)]
    declined = doc["history"][1]["reason"]
    assert (declined["note"], declined["outcome"]) == ("I know this person", "reassigned")
    assert declined["detail"].startswith("declined by ")
    assert await attempts(app, lead_id) == [1, 2]
    r = await http.get("/v1/webhook-endpoints", headers=ADMIN)
    deliveries = await http.get(
        f"/v1/webhook-endpoints/{r.json()[0]['id']}/deliveries", headers=ADMIN
    )
    kinds = [d["event_type"] for d in deliveries.json()]
    assert sorted(kinds) == ["lead.assigned", "lead.reassigned"]

    again = await http.post(path, json={"reason": "I know this person"}, headers=own)
    assert (again.status_code, again.json()) == (200, answer)  # idempotent: nothing moves
    assert len((await shown(http, lead_id))["history"]) == 3
    assert await attempts(app, lead_id) == [1, 2]


async def test_with_nobody_else_eligible_the_lead_is_queued_and_never_returns_to_the_decliner(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    lead_id = await new_lead(app)
    tool = await bearer(http, "sales_tool", "crm")
    r = await http.post(f"/v1/assignments/{lead_id}/decline", json={"rep_id": ann}, headers=tool)
    assert (r.status_code, r.json()["outcome"], r.json()["declined_by"]) == (200, "queued", ann)
    doc = await shown(http, lead_id)
    assert (doc["status"], doc["rep"], doc["sla_due_at"]) == ("queued", None, None)
    assert (await http.get(f"/v1/reps/{ann}", headers=ADMIN)).json()["open_leads"] == 0
    assert await assigner(app).retry_queue() == 0  # Ann is free, but declined it

    again = await http.post(
        f"/v1/assignments/{lead_id}/decline", json={"rep_id": ann}, headers=tool
    )
    assert (again.status_code, again.json()) == (200, r.json())
    bob = await api_rep(http, "Bob")  # someone else becomes eligible: routed at once
    doc = await shown(http, lead_id)
    assert (doc["rep"]["rep_id"], doc["status"], doc["attempt"]) == (bob, "reassigned", 2)
    skipped = {c["rep_id"]: c["skipped"] for c in doc["reason"]["candidates"]}
    assert skipped[ann] == "declined this lead"


async def test_a_decliner_is_never_given_the_lead_again_when_the_sla_runs_out(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    reps = {await api_rep(http, "Ann"), await api_rep(http, "Bob")}
    lead_id = await new_lead(app)
    first = (await shown(http, lead_id))["rep"]["rep_id"]
    (second,) = reps - {first}
    r = await http.post(f"/v1/assignments/{lead_id}/decline", headers=ADMIN)  # no body
    assert (r.status_code, r.json()["declined_by"], r.json()["reason"]) == (200, first, None)

    clock(app).advance(901)
    assert await assigner(app).check_sla() == 0
    doc = await shown(http, lead_id)
    assert (doc["rep"]["rep_id"], doc["history"][-1]["event"]) == (second, "sla_missed")


async def test_declining_an_accepted_closed_or_erased_lead_is_a_conflict(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    await api_rep(http, "Ann")
    await api_rep(http, "Bob")
    accepted, closed, erased = [await new_lead(app) for _ in range(3)]
    assert (await http.post(f"/v1/assignments/{accepted}/accept", headers=ADMIN)).is_success
    await handle(assigner(app), outcome(uuid.UUID(closed), "lost"))
    await handle(
        assigner(app),
        Envelope(
            data=LeadErased(lead_id=uuid.UUID(erased), erased_at=clock(app).now),
            source="/marketing-intake",
        ),
    )
    for lead_id, word in ((accepted, "accepted"), (closed, "closed"), (erased, "erased")):
        r = await http.post(f"/v1/assignments/{lead_id}/decline", headers=ADMIN)
        assert r.status_code == 409, r.text
        assert word in r.json()["detail"]
    missing = await http.post(f"/v1/assignments/{uuid.uuid4()}/decline", headers=ADMIN)
    assert missing.status_code == 404


async def test_bad_decline_bodies_are_refused_naming_the_field(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    lead_id = await new_lead(app)
    path = f"/v1/assignments/{lead_id}/decline"
    r = await http.post(path, json={"reason": "x" * 501}, headers=ADMIN)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["reason"]
    r = await http.post(path, json={"rep_id": str(uuid.uuid4())}, headers=ADMIN)
    assert r.status_code == 409  # not that rep's lead
    own = await bearer(http, "rep", ann)
    r = await http.post(path, json={"rep_id": str(uuid.uuid4())}, headers=own)
    assert r.status_code == 403  # a rep declines only for itself
    assert (await shown(http, lead_id))["status"] == "assigned"


def missed(rep_id: str) -> float:
    value = REGISTRY.get_sample_value("leadflow_assignment_sla_missed_total", {"rep_id": rep_id})
    return value or 0.0


async def test_the_sla_counts_the_reps_working_hours_and_a_miss_is_rerouted_and_counted(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann", timezone="Europe/Berlin", working_hours=OFFICE)
    clock(app).now = datetime(2027, 1, 8, 17, 55, tzinfo=BERLIN).astimezone(UTC)  # a Friday
    lead_id = await new_lead(app)
    doc = await shown(http, lead_id)
    monday_9_10 = datetime(2027, 1, 11, 9, 10, tzinfo=BERLIN)
    assert doc["rep"]["rep_id"] == ann
    assert datetime.fromisoformat(doc["sla_due_at"]) == monday_9_10
    bob = await api_rep(http, "Bob")  # no working hours: a wall-clock SLA
    before = missed(ann)

    clock(app).now = (monday_9_10 - timedelta(minutes=1)).astimezone(UTC)
    assert await assigner(app).check_sla() == 0
    assert (await shown(http, lead_id))["rep"]["rep_id"] == ann
    clock(app).now = (monday_9_10 + timedelta(minutes=1)).astimezone(UTC)
    assert await assigner(app).check_sla() == 1

    doc = await shown(http, lead_id)
    assert (doc["rep"]["rep_id"], doc["status"]) == (bob, "reassigned")
    assert datetime.fromisoformat(doc["sla_due_at"]) == clock(app).now + timedelta(seconds=900)
    miss, moved = doc["history"][-2:]
    assert (miss["event"], miss["rep_id"], moved["event"]) == ("sla_missed", ann, "reassigned")
    assert miss["reason"]["detail"].startswith("not accepted by Ann by 2027-01-11T08:10:00")
    assert missed(ann) == before + 1


async def test_two_replicas_declining_the_same_lead_at_once_move_it_once(
    app: FastAPI, http: httpx.AsyncClient, database_url: str
) -> None:
    other = await build(AssignmentSettings, build_app, MIGRATIONS, database_url)
    try:
        reps = {await api_rep(http, name) for name in ("Ann", "Bob", "Cid")}
        lead_id = await new_lead(app)
        first = (await shown(http, lead_id))["rep"]["rep_id"]
        path, body = f"/v1/assignments/{lead_id}/decline", {"rep_id": first, "reason": "busy"}
        async with client(other) as http2:
            answers = await asyncio.gather(
                *(c.post(path, json=body, headers=ADMIN) for c in (http, http2, http, http2))
            )
        assert {r.status_code for r in answers} == {200}
        assert len({r.text for r in answers}) == 1  # the same decline, answered four times
        doc = await shown(http, lead_id)
        steps = [h["event"] for h in doc["history"]]
        assert steps == ["assigned", "declined", "reassigned"]
        assert doc["rep"]["rep_id"] in reps - {first}
        assert await attempts(app, lead_id) == [1, 2]
    finally:
        await dispose(other)


async def test_erasing_a_lead_drops_the_decliners_note_from_its_history(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    await api_rep(http, "Ann")
    await api_rep(http, "Bob")
    lead_id = await new_lead(app)
    note = {"reason": "Ada Lovelace is my neighbour"}
    r = await http.post(f"/v1/assignments/{lead_id}/decline", json=note, headers=ADMIN)
    assert r.status_code == 200, r.text
    erased = LeadErased(lead_id=uuid.UUID(lead_id), erased_at=clock(app).now)
    await handle(assigner(app), Envelope(data=erased, source="/marketing-intake"))
    doc = await shown(http, lead_id)
    (step,) = [h for h in doc["history"] if h["event"] == "declined"]
    assert step["reason"]["note"] == "[erased]"
    assert "Lovelace" not in str(doc)


async def test_an_inactive_reps_token_declines_nothing(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    lead_id = await new_lead(app)
    own = await bearer(http, "rep", ann)
    assert (await http.patch(f"/v1/reps/{ann}", json={"active": False}, headers=ADMIN)).is_success
    r = await http.post(f"/v1/assignments/{lead_id}/decline", headers=own)
    assert r.status_code == 403, r.text
    assert (await shown(http, lead_id))["history"][-1]["event"] == "assigned"
