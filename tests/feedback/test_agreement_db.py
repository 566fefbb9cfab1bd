"""The agreement over HTTP (issue 24): who may set and read it, bad terms named, and a past
month's status from real events and outcomes, with figures worked out by hand."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from feedback_events import ADMIN, RITA, SAM, assigned, at, captured, deliver, lead, scored
from sqlalchemy import select

from leadflow.events import decode
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from support.apps import bearer

pytestmark = pytest.mark.postgres

TERMS = {
    "mqls_per_month": 3,
    "min_acceptance_rate": 0.8,
    "contact_within_minutes": 60,
    "per_source": {"webinar": {"mqls_per_month": 5}},
}


@pytest.fixture(autouse=True)
def small_minimums(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rates from 2 verdicts, so four leads make a measured figure."""
    monkeypatch.setenv("LEADFLOW_MIN_VERDICTS", "2")


async def issue(client: httpx.AsyncClient, role: str, subject: str | None = None) -> dict[str, str]:
    return await bearer(client, role, subject, admin=ADMIN)


async def test_the_admin_sets_it_an_analyst_reads_it_and_may_not_set_it(
    client: httpx.AsyncClient,
) -> None:
    analyst = await issue(client, "analyst")
    assert (await client.get("/v1/agreement", headers=analyst)).status_code == 404
    assert (await client.get("/v1/agreement/status", headers=analyst)).status_code == 404
    put = await client.put("/v1/agreement", json=TERMS, headers=ADMIN)
    assert put.status_code == 200, put.text
    got = await client.get("/v1/agreement", headers=analyst)
    assert got.status_code == 200
    body = got.json()
    assert body["updated_at"]
    assert body["per_source"] == {
        "webinar": {
            "mqls_per_month": 5,
            "min_acceptance_rate": None,
            "contact_within_minutes": None,
        }
    }
    refused = await client.put("/v1/agreement", json=TERMS, headers=analyst)
    assert refused.status_code == 403
    rep = await issue(client, "rep", str(RITA.rep_id))
    assert (await client.get("/v1/agreement", headers=rep)).status_code == 403
    assert (await client.get("/v1/agreement")).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_acceptance_rate": 1.5}, "min_acceptance_rate"),
        ({"mqls_per_month": 0}, "mqls_per_month"),
        ({"contact_within_minutes": "soon"}, "contact_within_minutes"),
        ({"per_source": {"webinar": {"mqls_per_month": -1}}}, "per_source.webinar.mqls_per_month"),
        ({"per_source": {"webinar": {"speed": 1}}}, "per_source.webinar.speed"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_terms_are_422_naming_the_field(
    client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    answer = await client.put("/v1/agreement", json={**TERMS, **change}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert field in answer.text


async def test_a_missing_term_is_named(client: httpx.AsyncClient) -> None:
    terms = {k: v for k, v in TERMS.items() if k != "contact_within_minutes"}
    answer = await client.put("/v1/agreement", json=terms, headers=ADMIN)
    assert answer.status_code == 422
    assert "contact_within_minutes" in answer.text


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "march", "2026-03-01"])
async def test_a_bad_month_is_422_naming_month(client: httpx.AsyncClient, month: str) -> None:
    assert (await client.put("/v1/agreement", json=TERMS, headers=ADMIN)).status_code == 200
    answer = await client.get("/v1/agreement/status", params={"month": month}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "month" in answer.text


async def seed(rt: Runtime, client: httpx.AsyncClient) -> None:
    """March 2026: four MQLs (A, B webinar; C, D ads) assigned a minute after capture, and
    one lead that never qualified. A contacted after 30 min, C after 90, D reached sql after
    10; B rejected as not ready."""
    ids = {name: uuid.uuid4() for name in "ABCDE"}
    for name, lead_id in ids.items():
        the_lead = lead(lead_id, at(), source="webinar" if name in "AB" else "ads")
        score = 40 if name == "E" else 80
        envelopes = [captured(the_lead), scored(the_lead, score, at(seconds=5))]
        if name != "E":
            envelopes.append(assigned(lead_id, RITA if name in "AC" else SAM, at(seconds=60)))
        for envelope in envelopes:
            assert await deliver(rt, envelope)
    outcomes = [
        ("A", {"stage": "contacted", "occurred_at": at(seconds=60, minutes=30)}),
        ("C", {"stage": "contacted", "occurred_at": at(seconds=60, minutes=90)}),
        ("D", {"stage": "sql", "occurred_at": at(seconds=60, minutes=10)}),
        ("B", {"stage": "rejected", "reason": "not_ready", "occurred_at": at(hours=2)}),
    ]
    for name, body in outcomes:
        doc = {"lead_id": str(ids[name]), **body, "occurred_at": body["occurred_at"].isoformat()}
        answer = await client.post("/v1/outcomes", json=doc, headers=ADMIN)
        assert answer.status_code == 202, answer.text
    async with rt.engine.connect() as conn:
        rows = (await conn.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    for r in rows:  # what feedback's own consumer folds back
        assert await deliver(rt, decode(r.value, [(k, v.encode()) for k, v in r.headers]))


async def test_a_past_months_status_against_figures_worked_out_by_hand(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    assert (await client.put("/v1/agreement", json=TERMS, headers=ADMIN)).status_code == 200
    answer = await client.get("/v1/agreement/status", params={"month": "2026-03"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["month"], body["days_in_month"], body["days_elapsed"]) == ("2026-03", 31, 31.0)
    assert (body["min_verdicts"], body["min_projection_days"]) == (2, 7)
    got = [
        (p["promise"], p["team"], p["source"], p["target"], p["actual"], p["projection"],
         p["on_track"], p["sample"], p["projection_days"])
        for p in body["promises"]
    ]  # fmt: skip
    assert got == [
        # March is over: the projection is the count. 4 MQLs ≥ 3.
        ("mqls_per_month", "marketing", None, 3.0, 4.0, 4.0, True, 4, 31),
        # 4 verdicts (A, C contacted; D sql; B rejected): 3/4 = .75 < .8.
        ("min_acceptance_rate", "marketing", None, 0.8, 0.75, 0.75, False, 4, 31),
        # Webinar: A and B, 2 < 5.
        ("mqls_per_month", "marketing", "webinar", 5.0, 2.0, 2.0, False, 2, 31),
        # A 30, C 90, D 10 minutes (B, rejected without a call, is left out): median 30.
        ("contact_within_minutes", "sales", None, 60.0, 30.0, 30.0, True, 3, 31),
    ]
    rate = body["promises"][1]
    # Wilson 3 of 4: z²/n = .960365; centre = (.75 + .480182)/1.960365 = .627528;
    # margin = .999795 × √(.046875 + .060023) = .326886.
    assert (rate["wilson_lower"], rate["wilson_upper"]) == (0.3006, 0.9544)
    # The funnel agrees: one of webinar's two MQLs rejected, its reason counted.
    funnel = await client.get("/v1/metrics/funnel", params={"group_by": "source"}, headers=ADMIN)
    webinar = {g["key"]: g for g in funnel.json()["groups"]}["webinar"]
    assert (webinar["rejected"], webinar["verdicts"], webinar["acceptance_rate"]) == (1, 2, 0.5)
    assert webinar["rejection_reasons"] == {"not_ready": 1}
