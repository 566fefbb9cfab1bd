"""The fairness ledger (`GET /v1/routing/fairness`) over leads routed by the real routing path.

Team: Ann (weight 2), Bob (1), Cid (3, at capacity: max_open_leads 0), Dee (4, out of office
for the first three leads), Eve (1, territory US; every lead is from DE). Smooth weighted round
robin gives leads 1–3 (Ann, Bob eligible: 2:1) to Ann, Bob, Ann, and leads 4–7 (Ann, Bob, Dee:
2:1:4, from the state lead 3 left, all 0) to Dee, Ann, Dee, Bob, with no tie on the way (a
tie would go to the lower rep_id, which is random here). By hand:

    Ann  eligible 7, expected 3 × 2/3 + 4 × 2/7 = 3.14, actual 3
    Bob  eligible 7, expected 3 × 1/3 + 4 × 1/7 = 1.57, actual 2
    Cid  eligible 0, expected 0, actual 0, skipped at_capacity 7
    Dee  eligible 4, expected 4 × 4/7 = 2.29, actual 2, skipped out_of_office 3
    Eve  eligible 0, expected 0, actual 0, skipped territory 7
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from assignment_kit import FakeClock, api_rep, handle, qualified
from fastapi import FastAPI
from sqlalchemy import event

from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.models import FairnessLineRow
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, bearer, build, dispose, runtime
from support.kafka_tools import eventually

START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = await build(AssignmentSettings, build_app, MIGRATIONS, database_url)
    app.state.assigner.clock = FakeClock(START)
    yield app
    await dispose(app)


def clock(app: FastAPI) -> FakeClock:
    assigner: Assigner = app.state.assigner
    assert isinstance(assigner.clock, FakeClock)
    return assigner.clock


async def routed_to(app: FastAPI, http: httpx.AsyncClient) -> str:
    env = qualified(country="DE")
    await handle(app.state.assigner, env)
    r = await http.get(f"/v1/assignments/{env.data.lead_id}", headers=ADMIN)
    rep_id: str = r.json()["rep"]["rep_id"]
    return rep_id


async def fairness(
    http: httpx.AsyncClient, start: datetime, end: datetime, headers: dict[str, str] = ADMIN
) -> httpx.Response:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    return await http.get("/v1/routing/fairness", params=params, headers=headers)


def by_name(doc: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        r["name"]: (r["eligible"], r["expected"], r["actual"], r["skipped"], r["active_now"])
        for r in doc["reps"]
    }


async def team(http: httpx.AsyncClient) -> dict[str, str]:
    away = {
        "start": (START - timedelta(hours=1)).isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
    }
    return {
        "Ann": await api_rep(http, "Ann", weight=2),
        "Bob": await api_rep(http, "Bob", weight=1),
        "Cid": await api_rep(http, "Cid", weight=3, max_open_leads=0),
        "Dee": await api_rep(http, "Dee", weight=4, out_of_office=[away]),
        "Eve": await api_rep(http, "Eve", weight=1, territories=["US"]),
    }


async def test_expected_and_actual_leads_and_skips_per_rep_match_the_hand_count(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    reps = await team(http)
    names = {rep_id: name for name, rep_id in reps.items()}
    first = [names[await routed_to(app, http)] for _ in range(3)]
    clock(app).advance(2 * 3600)  # Dee is back
    back = clock(app).now
    later = [names[await routed_to(app, http)] for _ in range(4)]
    assert (first, later) == (["Ann", "Bob", "Ann"], ["Dee", "Ann", "Dee", "Bob"])
    # Today's team is not the team of the decisions: Ann's weight changes, Bob is deactivated.
    for rep, change in (("Ann", {"weight": 10}), ("Bob", {"active": False})):
        r = await http.patch(f"/v1/reps/{reps[rep]}", json=change, headers=ADMIN)
        assert r.status_code == 200, r.text

    r = await fairness(http, START - timedelta(minutes=1), back + timedelta(minutes=1))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["decisions"] == 7
    assert datetime.fromisoformat(doc["ledger_since"]) == START
    assert by_name(doc) == {
        "Ann": (7, 3.14, 3, {}, True),
        "Bob": (7, 1.57, 2, {}, False),
        "Cid": (0, 0.0, 0, {"at_capacity": 7}, True),
        "Dee": (4, 2.29, 2, {"out_of_office": 3}, True),
        "Eve": (0, 0.0, 0, {"territory": 7}, True),
    }
    assert [rep["rep_id"] for rep in doc["reps"]] == [reps[n] for n in sorted(reps)]

    # Only the decisions after Dee came back: [from, to) leaves the first three out.
    r = await fairness(http, back, back + timedelta(minutes=1))
    assert r.status_code == 200, r.text
    assert r.json()["decisions"] == 4
    assert by_name(r.json()) == {
        "Ann": (4, 1.14, 1, {}, True),
        "Bob": (4, 0.57, 1, {}, False),
        "Cid": (0, 0.0, 0, {"at_capacity": 4}, True),
        "Dee": (4, 2.29, 2, {}, True),
        "Eve": (0, 0.0, 0, {"territory": 4}, True),
    }
    # A window before any decision is empty, and says when the ledger began.
    r = await fairness(http, START - timedelta(days=2), START - timedelta(days=1))
    assert (r.json()["decisions"], r.json()["reps"]) == (0, [])


async def test_a_declined_lead_and_a_queued_one_are_decisions_with_their_skips(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    env = qualified(country="DE")
    await handle(app.state.assigner, env)  # Ann, the only rep: expected 1, actual 1
    own = await bearer(http, "rep", ann)
    r = await http.post(f"/v1/assignments/{env.data.lead_id}/decline", json={}, headers=own)
    assert (r.status_code, r.json()["outcome"]) == (200, "queued")
    r = await fairness(http, START - timedelta(minutes=1), START + timedelta(minutes=1))
    assert r.status_code == 200, r.text
    assert r.json()["decisions"] == 2
    assert by_name(r.json()) == {"Ann": (1, 1.0, 1, {"declined": 1}, True)}
    # `actual` counts the declined lead; `declined` says so.
    assert [rep["declined"] for rep in r.json()["reps"]] == [1]


async def test_a_decision_committed_while_the_ledger_is_read_is_counted_or_not_never_a_500(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    await routed_to(app, http)
    bob = uuid.uuid4()  # a rep skipped in a decision committed after the ledger's first read
    engine = runtime(app).engine.sync_engine
    reads: list[str] = []

    def commit_a_decision_between(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "fairness_lines" not in statement or "GROUP BY" not in statement:
            return
        reads.append(statement)
        if len(reads) == 1:  # right after the first read, as another replica's commit would
            return
        with engine.begin() as other:
            other.execute(
                FairnessLineRow.__table__.insert().values(
                    decision_id=uuid.uuid4(),
                    decided_at=START,
                    lead_id=uuid.uuid4(),
                    rep_id=bob,
                    eligible=False,
                    weight=1,
                    share=0.0,
                    chosen=False,
                    skipped="territory",
                )
            )

    event.listen(engine, "before_cursor_execute", commit_a_decision_between)
    try:
        r = await fairness(http, START - timedelta(minutes=1), START + timedelta(minutes=1))
    finally:
        event.remove(engine, "before_cursor_execute", commit_a_decision_between)
    assert r.status_code == 200, r.text
    assert [rep["rep_id"] for rep in r.json()["reps"]][:1] == [ann]


async def test_reps_and_sales_tools_may_not_read_it_analysts_may(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    end = START + timedelta(days=1)
    for role, subject, status in (
        ("rep", ann, 403),
        ("sales_tool", None, 403),
        ("analyst", None, 200),
    ):
        r = await fairness(http, START, end, await bearer(http, role, subject))
        assert r.status_code == status, (role, r.text)
    r = await http.get(
        "/v1/routing/fairness", params={"from": START.isoformat(), "to": end.isoformat()}
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"to": "2027-01-02T00:00:00Z"}, "from", "required"),
        ({"from": "2027-01-01T00:00:00Z"}, "to", "required"),
        ({"from": "yesterday", "to": "2027-01-02T00:00:00Z"}, "from", "datetime"),
        ({"from": "2027-01-02T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "to", "before from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2027-01-03T00:00:00Z"}, "to", "366 days"),
        # No UTC value / no room for date arithmetic: a 422, not an OverflowError (500).
        ({"from": "0001-01-01T00:00:00+01:00", "to": "0001-01-02T00:00:00Z"}, "from,to", "1970"),
        ({"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T23:00:00-05:00"}, "from,to", "9998"),
        ({"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:00:00-05:00"}, "to", "9998"),
    ],
)
async def test_a_bad_window_is_a_422_naming_the_field(
    http: httpx.AsyncClient, params: dict[str, str], field: str, words: str
) -> None:
    r = await http.get("/v1/routing/fairness", params=params, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    errors = r.json()["errors"]
    assert [e["field"] for e in errors] == field.split(",")
    assert words in errors[0]["message"].lower()


async def test_lines_past_the_retention_vanish_on_schedule(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    await api_rep(http, "Ann")
    clock(app).now = START - timedelta(days=401)  # LEADFLOW_FAIRNESS_RETENTION_DAYS: 400
    await routed_to(app, http)
    clock(app).now = START - timedelta(days=399)
    await routed_to(app, http)
    old, kept = START - timedelta(days=402), START - timedelta(days=398)

    async def decisions(start: datetime, end: datetime) -> int:
        n: int = (await fairness(http, start, end)).json()["decisions"]
        return n

    assert (
        await decisions(old, old + timedelta(days=2)),
        await decisions(kept - timedelta(days=2), kept),
    ) == (1, 1)
    [purge] = [w for n, w in runtime(app).workers if n == "fairness-retention"]
    task = asyncio.create_task(purge())  # the runtime's background task; no request is made
    try:
        await eventually(lambda: _none_left(http, old), timeout=10)
    finally:
        task.cancel()
    assert await decisions(kept - timedelta(days=2), kept) == 1


async def _none_left(http: httpx.AsyncClient, old: datetime) -> bool:
    found = await fairness(http, old, old + timedelta(days=2))
    return bool(found.json()["decisions"] == 0)
