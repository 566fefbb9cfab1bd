"""The sales-ops page: the fairness ledger feedback folds from `leads.assigned`, over HTTP.

sales-assignment (on a SQLite file of its own) routes leads through its real routing path;
the `leads.assigned` events it staged are delivered to feedback as its consumer would, and
the page must show what sales-assignment's `GET /v1/routing/fairness` answers.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from feedback_events import ADMIN, deliver

from feedback import fairness_repo, sales_ops
from feedback.sales_ops import fairness_of
from leadflow.events import Envelope, Lead, LeadAssigned, LeadQualified
from leadflow.service import Runtime
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.settings import AssignmentSettings
from support import apps

TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
ROW = re.compile(
    r'<tr data-rep-id="(?P<id>[^"]+)">\s*<th scope="row">(?P<name>[^<]*)</th><td>(?P<eligible>\d+)'
    r"</td>\s*<td>(?P<expected>[\d.]+)</td><td>(?P<actual>\d+)</td>.*?"
    r'<td class="reasons">(?P<skipped>[^<]*)</td>',
    re.S,
)


def _qualified() -> Envelope:
    lead = Lead(
        lead_id=uuid.uuid4(),
        email="ada@acme.example",
        country="DE",
        company_size=50,
        captured_at=datetime.now(UTC),
    )
    event = LeadQualified(
        lead_id=lead.lead_id,
        score=80,
        qualified=True,
        threshold=60,
        factors=[],
        model_version="t",
        scored_at=datetime.now(UTC),
        lead=lead,
    )
    return Envelope(data=event, source="/lead-scoring")


async def _routed_elsewhere(tmp_path: Path) -> tuple[list[Envelope], dict[str, Any]]:
    """sales-assignment routes 6 leads; its `leads.assigned` events and its own ledger."""
    app = await apps.build(
        AssignmentSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/sa.db"
    )
    try:
        async with apps.client(app) as http:
            away = {"start": "2000-01-01T00:00:00Z", "end": "2999-01-01T00:00:00Z"}
            for name, fields in (
                ("Ann", {"weight": 2}),
                ("Bob", {"weight": 1}),
                ("Cid", {"weight": 3, "max_open_leads": 0}),
                ("Dee", {"out_of_office": [away]}),
            ):
                doc = {"name": name, "email": f"{name.lower()}@seller.example"} | fields
                assert (
                    await http.post("/v1/reps", json=doc, headers=apps.ADMIN)
                ).status_code == 201
            for _ in range(6):
                handler = apps.registered(app.state.runtime, LeadQualified)  # the consumer's
                async with app.state.runtime.transaction() as uow:
                    await handler(uow, _qualified())
            now = datetime.now(UTC)
            params = {
                "from": (now - timedelta(hours=1)).isoformat(),
                "to": (now + timedelta(hours=1)).isoformat(),
            }
            ledger = (
                await http.get("/v1/routing/fairness", params=params, headers=apps.ADMIN)
            ).json()
        sent = [e for e in await apps.outbox(app) if isinstance(e.data, LeadAssigned)]
    finally:
        await apps.dispose(app)
    return sent, ledger


async def test_the_page_shows_the_ledger_sales_assignment_gives(
    client: httpx.AsyncClient, rt: Runtime, tmp_path: Path
) -> None:
    sent, ledger = await _routed_elsewhere(tmp_path)
    assert len(sent) == 6
    for env in sent:
        assert await deliver(rt, env)
    assert (await client.post("/login", data={"token": TOKEN})).status_code == 303
    today = datetime.now(UTC).date().isoformat()
    page = await client.get("/sales-ops", params={"from": today, "to": today})
    assert page.status_code == 200, page.text
    assert "6 routing decision(s)" in page.text
    shown = {
        m["name"]: (int(m["eligible"]), float(m["expected"]), int(m["actual"]), m["skipped"])
        for m in ROW.finditer(page.text)
    }
    # 2:1 over six leads: Ann expects and gets 4, Bob 2; Cid is full, Dee away.
    assert shown == {
        "Ann": (6, 4.0, 4, "–"),
        "Bob": (6, 2.0, 2, "–"),
        "Cid": (0, 0.0, 0, "at capacity 6"),
        "Dee": (0, 0.0, 0, "out of office 6"),
    }
    api = {
        r["name"]: (r["eligible"], r["expected"], r["actual"], r["skipped"]) for r in ledger["reps"]
    }
    assert {k: v[:3] for k, v in shown.items()} == {k: v[:3] for k, v in api.items()}
    assert api["Cid"][3] == {"at_capacity": 6}


async def test_the_page_needs_a_login_and_says_what_is_wrong_with_a_period(
    client: httpx.AsyncClient,
) -> None:
    assert 'id="login-form"' in (await client.get("/sales-ops")).text
    await client.post("/login", data={"token": TOKEN})
    bad = await client.get("/sales-ops", params={"from": "March", "to": "2026-03-01"})
    assert bad.status_code == 200
    assert "from: not a date (YYYY-MM-DD)" in bad.text
    backwards = await client.get("/sales-ops", params={"from": "2026-03-05", "to": "2026-03-01"})
    assert "to: must not be before from" in backwards.text
    long = await client.get("/sales-ops", params={"from": "2025-01-01", "to": "2026-03-01"})
    assert "to: at most 366 days" in long.text
    empty = await client.get("/sales-ops", params={"from": "2026-03-01", "to": "2026-03-01"})
    assert "No assignment with recorded candidates in this period." in empty.text


def test_assignments_recorded_without_weights_are_counted_apart() -> None:
    rep = {"rep_id": "a", "name": "Ann"}
    old = {"rep": rep, "candidates": [{"rep_id": "a", "name": "Ann", "eligible": True}]}
    older = {"rep": rep}  # before the events carried candidates at all
    new = {
        "rep": rep,
        "candidates": [
            {"rep_id": "a", "name": "Ann", "eligible": True, "skipped": None, "weight": 3},
            {"rep_id": "b", "name": "Bob", "eligible": True, "skipped": None, "weight": 1},
        ],
    }
    view = fairness_of([old, older, new])
    assert (view.decisions, view.unweighted) == (1, 2)
    assert [(r.name, r.expected, r.actual) for r in view.reps] == [
        ("Ann", 0.75, 1),
        ("Bob", 0.25, 0),
    ]


async def test_the_ledger_streams_the_window_a_chunk_at_a_time(rt: Runtime, tmp_path: Path) -> None:
    sent, _ = await _routed_elsewhere(tmp_path)
    for env in sent:
        assert await deliver(rt, env)
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    async with rt.sessions() as s:
        parts = [
            list(part) async for part in fairness_repo.assignments_between(s, start, end, chunk=4)
        ]
    # Never more than a chunk of journey entries in memory, and the same figures as a whole.
    assert [len(p) for p in parts] == [4, 2]
    streamed = await sales_ops.fairness_view(rt, start, end)
    assert streamed == fairness_of([data for part in parts for data in part])
    assert (streamed.decisions, streamed.unweighted) == (6, 0)
