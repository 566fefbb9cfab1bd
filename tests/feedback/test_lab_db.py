"""The what-if lab page (`/lab`) over HTTP: who may use it, its forms (a request stored and
staged for `leadflow.lab` in one transaction, bad input said on the page), and the reports
that arrive over `leadflow.lab` as the page shows them."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from feedback_events import (
    ADMIN,
    RITA,
    assigned,
    at,
    captured,
    deliver,
    env,
    lead,
    relay,
    scored,
)
from lab_kit import ROUTING, login
from sqlalchemy import select

from feedback import lab_store
from feedback.models import LabSimulation
from leadflow import lab
from leadflow.events import AssignmentReason, LeadAssigned, RepRef
from leadflow.kafka import LAB_TOPIC
from leadflow.outbox import outbox_table
from leadflow.service import Runtime

ANN, BOB = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def _login_form(page: httpx.Response) -> bool:
    return 'id="login-form"' in page.text


async def _rows(rt: Runtime) -> list[LabSimulation]:
    async with rt.sessions() as s:
        return list(await s.scalars(select(LabSimulation)))


def _report(sid: str, **extra: Any) -> dict[str, Any]:
    """A routing report as sales-assignment's GET /v1/routing/simulations/{id} gives it."""
    return {
        "simulation_id": sid, "status": "done", "request": {"from": "2026-03-01"},
        "created_at": "2026-03-31T10:00:00+00:00", "leads": 40, "changed": 7,
        "per_rep": [{"rep_id": ANN, "name": "Ann <b>Rep</b>", "actual": 25, "simulated": 18},
                    {"rep_id": BOB, "name": "Bob", "actual": 15, "simulated": 22}],
        "newly_queued": 0, "cap_hits": 2, "rules_never_matched": ["emea"], "reproduced": 0.975,
        "misses": [{"reason": "rules changed unrecorded", "count": 1,
                    "example_lead_ids": [str(uuid.UUID(int=9))]}],
        "moved": [{"lead_id": str(uuid.UUID(int=7)), "actual_rep_id": ANN,
                   "simulated_rep_id": BOB, "simulated_rule": "default"}],
        "moved_total": 7, **extra,
    }  # fmt: skip


SCORING = {
    "from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "leads": 20, "erased": 1,
    "unscorable": 0, "now": {"rules_version": "3", "threshold": 60},
    "draft": {"rules_version": "draft", "threshold": 70},
    "learned": {"version": "learned-4", "weight": 0.0, "note": "The learned model is today's."},
    "mqls_now": 12, "mqls_draft": 9,
    "became_mql": {"count": 1, "lead_ids": [str(uuid.UUID(int=5))]},
    "stopped_being_mql": {"count": 4, "lead_ids": [str(uuid.UUID(int=6))]},
    "outcomes": {
        "now": {"verdicts": 6, "won": 3, "lost": 2, "rejected": 1, "win_rate": 0.5,
                "wilson_lower": 0.1876, "wilson_upper": 0.8124, "insufficient_data": False,
                "revenue": [{"currency": "EUR", "amount": "1500.50"}], "won_without_amount": 0},
        "draft": {"verdicts": 2, "won": 1, "lost": 1, "rejected": 0, "win_rate": None,
                  "wilson_lower": None, "wilson_upper": None, "insufficient_data": True,
                  "revenue": [], "won_without_amount": 0},
    },
    "min_verdicts": 5,
}  # fmt: skip


async def test_the_lab_needs_a_dashboard_session(client: httpx.AsyncClient, rt: Runtime) -> None:
    assert _login_form(await client.get("/lab"))
    assert _login_form(await client.get(f"/lab/simulations/{uuid.uuid4()}"))
    posted = await client.post("/lab/simulations/routing", data=ROUTING)
    assert posted.status_code == 303
    assert posted.headers["location"] == "/lab"
    assert await _rows(rt) == []
    await login(client, "rep", answer=403)
    assert _login_form(await client.get("/lab"))


@pytest.mark.parametrize("role", ["analyst", "admin"])
async def test_a_routing_simulation_is_stored_and_published_in_one_transaction(
    client: httpx.AsyncClient, rt: Runtime, role: str
) -> None:
    await login(client, role)
    page = await client.get("/lab")
    assert page.status_code == 200
    assert '<a href="/lab" aria-current="page">' in page.text
    assert 'href="/sales-ops" id="fairness-link"' in page.text
    draft = {**ROUTING, "rules": '[{"name": "default", "pool": "all"}]',
             "reps": f'[{{"rep_id": "{ANN}", "action": "deactivate"}}]'}  # fmt: skip
    posted = await client.post("/lab/simulations/routing", data=draft)
    assert posted.status_code == 303
    sid = posted.headers["location"].removeprefix("/lab/simulations/")
    [row] = await _rows(rt)
    assert str(row.simulation_id) == sid
    assert row.status == "requested"
    assert row.requested_by is not None
    assert row.requested_by.startswith(f"{role}:")
    assert row.request == {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                           "rules": [{"name": "default", "pool": "all"}],
                           "reps": [{"rep_id": ANN, "action": "deactivate"}]}  # fmt: skip
    async with rt.sessions() as s:
        query = select(outbox_table).where(outbox_table.c.topic == LAB_TOPIC)
        [staged] = (await s.execute(query)).all()
    assert staged.topic == LAB_TOPIC
    assert staged.key == sid.encode()
    message = lab.decode(staged.value, [(k, v.encode()) for k, v in staged.headers])
    assert isinstance(message, lab.SimulationRequested)
    assert message.kind == "routing"
    assert message.request == row.request
    shown = await client.get(posted.headers["location"])
    assert "waiting for sales-assignment" in shown.text
    assert '<meta http-equiv="refresh" content="3">' in shown.text


async def test_a_report_shows_the_per_rep_table_moved_leads_and_misses(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    # Reps are named as feedback knows them (the report is kept without names).
    ann = RepRef(rep_id=uuid.UUID(ANN), name="Ann <b>Rep</b>", email="ann@seller.example")
    assert await deliver(rt, assigned(uuid.uuid4(), ann, at(hours=1)))
    await login(client)
    posted = await client.post("/lab/simulations/routing", data=ROUTING)
    sid = posted.headers["location"].removeprefix("/lab/simulations/")
    report = lab.reported(uuid.UUID(sid), "routing", _report(sid))
    await lab_store.handle(rt, report)
    await lab_store.handle(rt, lab.reported(uuid.UUID(sid), "routing", {"status": "running"}))
    page = (await client.get(posted.headers["location"])).text
    assert 'data-status="done"' in page
    assert "refresh" not in page
    assert "Ann &lt;b&gt;Rep&lt;/b&gt;" in page  # escaped
    assert "<b>Rep</b>" not in page
    assert f'<tr data-rep-id="{ANN}"><th scope="row">Ann &lt;b&gt;Rep&lt;/b&gt;</th>' in page
    assert "<td>25</td><td>18</td>" in page
    assert "<td>-7</td>" in page
    assert str(uuid.UUID(int=7)) in page
    assert "rules changed unrecorded" in page
    assert "97.5 %" in page
    assert "Only the first 1 are listed." in page
    listed = (await client.get("/lab")).text
    assert "40 leads, 7 would change rep, 0 newly queued" in listed


async def test_a_simulation_started_through_the_api_is_listed_too(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    await login(client)
    sid = str(uuid.uuid4())
    await lab_store.handle(rt, lab.reported(uuid.UUID(sid), "routing", _report(sid)))
    [row] = await _rows(rt)
    assert row.requested_by is None
    assert row.requested_at == datetime(2026, 3, 31, 10, tzinfo=UTC)
    listed = (await client.get("/lab")).text
    assert f'data-simulation-id="{sid}"' in listed
    assert ">API<" in listed


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("rules", "[{not json", "rules: not JSON"),
        ("rules", '{"name": "x"}', "rules: must be an array"),
        ("reps", "[" * 30 + "]" * 30, "reps: nested deeper than 20 levels"),
        ("from", "2026-13-01", "from: not a date"),
        ("to", "2026-02-01", "to: must not be before from"),
        ("to", "2027-06-01", "to: at most 366 days"),
    ],
)
async def test_a_wrong_field_is_said_on_the_page_and_nothing_is_requested(
    client: httpx.AsyncClient, rt: Runtime, field: str, value: str, said: str
) -> None:
    await login(client)
    page = await client.post("/lab/simulations/routing", data={**ROUTING, field: value})
    assert page.status_code == 422
    assert said in page.text
    assert await _rows(rt) == []
    if field == "rules":
        assert value.replace('"', "&#34;") in page.text  # kept, escaped


async def test_oversized_cross_site_and_unknown_posts_are_refused(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    await login(client)
    big = await client.post("/lab/simulations/routing", data={**ROUTING, "rules": "x" * 300_000})
    assert big.status_code == 413
    cross = await client.post(
        "/lab/simulations/routing", data=ROUTING, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    assert (await client.post("/lab/simulations/pricing", data=ROUTING)).status_code == 404
    assert (await client.get("/lab/simulations/not-an-id")).status_code == 404
    assert (await client.get(f"/lab/simulations/{uuid.uuid4()}")).status_code == 404
    assert await _rows(rt) == []


async def test_a_scoring_simulation_and_a_failed_one_with_its_errors(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    await login(client)  # an analyst, as sales ops
    bad = await client.post(
        "/lab/simulations/scoring", data={"from": "2026-03-01", "to": "2026-03-31",
                                          "threshold": "101"}
    )  # fmt: skip
    assert bad.status_code == 422
    assert "threshold: a whole number from 0 to 100" in bad.text
    form = {"from": "2026-03-01", "to": "2026-03-31", "rules": '{"threshold": 70}',
            "threshold": "70"}  # fmt: skip
    posted = await client.post("/lab/simulations/scoring", data=form)
    sid = uuid.UUID(posted.headers["location"].removeprefix("/lab/simulations/"))
    assert posted.status_code == 303
    [row] = await _rows(rt)
    assert row.requested_by is not None
    assert row.requested_by.startswith("analyst:")
    assert row.request == {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                           "rules": {"threshold": 70}, "threshold": 70}  # fmt: skip
    await lab_store.handle(rt, lab.reported(sid, "scoring", SCORING))
    page = (await client.get(posted.headers["location"])).text
    summary = "20 leads: MQLs 12 now, 9 with the draft; 1 would become MQLs, 4 would stop"
    assert summary in page
    assert '<span class="value" id="mqls-draft">9</span>' in page
    assert "MQLs with the draft (threshold 70)" in page
    now = '<tr data-way="now"><th scope="row">Now</th><td>6</td><td>3</td>'
    assert now in page
    assert "50.0 %</td>" in page
    assert "18.8 % – 81.2 %" in page
    assert "1500.50 EUR" in page
    assert "too few" in page  # the draft's 2 verdicts
    assert str(uuid.UUID(int=5)) in page
    second = await client.post("/lab/simulations/routing", data=ROUTING)
    other = uuid.UUID(second.headers["location"].removeprefix("/lab/simulations/"))
    missing = {"field": "rules.0.pool", "message": "Field required"}
    failed = {"status": "failed", "error": "invalid request", "errors": [missing]}
    await lab_store.handle(rt, lab.reported(other, "routing", failed))
    page = (await client.get(second.headers["location"])).text
    assert "failed: invalid request" in page
    assert "rules.0.pool: Field required" in page


async def test_the_experiments_section_shows_each_arm_with_its_interval(
    client: httpx.AsyncClient, rt: Runtime
) -> None:
    """Three leads in March: split-emea control (won, lost) and variant (one, open); one lead
    routed by no experiment is left out. Control: 1 of 2 won, Wilson .0945–.9055 (the
    funnel's four decimals; .0945 shows as 9.4 %)."""
    arms = [("control", "won"), ("control", "lost"), ("variant", None), (None, None)]
    for i, (arm, stage) in enumerate(arms):
        the_lead = lead(uuid.uuid4(), at(days=i))
        variant = {"experiment": "split-emea", "arm": arm} if arm else None
        reason = AssignmentReason(rule="default", variant=variant)
        given = LeadAssigned(lead_id=the_lead.lead_id, rep=RITA, assigned_at=at(days=i, hours=1),
                             attempt=1, reason=reason)  # fmt: skip
        for envelope in (captured(the_lead), scored(the_lead, 80, at(days=i)), env(given)):
            assert await deliver(rt, envelope)
        if stage:
            body = {"lead_id": str(the_lead.lead_id), "stage": stage,
                    "occurred_at": at(days=i, hours=5).isoformat()}  # fmt: skip
            if stage == "won":
                body |= {"amount": 1000, "currency": "EUR"}
            assert (await client.post("/v1/outcomes", json=body, headers=ADMIN)).status_code == 202
    await relay(rt)
    await login(client)
    page = (await client.get("/lab?from=2026-03-01&to=2026-03-31")).text
    rows = ROW.findall(page)
    assert rows == [
        ("split-emea/control", "split-emea", "control", "2", "1", "1", "50.0 %", "9.4 % – 90.5 %"),
        ("split-emea/variant", "split-emea", "variant", "1", "0", "0", "–", "–"),
    ]
    assert "1,000.00 EUR" in page


ROW = re.compile(
    r'<tr data-arm="([^"]+)">\s*<th scope="row">([^<]+)</th><td class="text">([^<]+)</td>'
    r"<td>(\d+)</td><td>\d+</td><td>(\d+)</td><td>(\d+)</td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>"
)


async def test_simulations_older_than_the_retention_are_purged(rt: Runtime) -> None:
    old, new = uuid.uuid4(), uuid.uuid4()
    for sid, days in ((old, 400), (new, 10)):
        report = _report(
            str(sid), created_at=(datetime.now(UTC) - timedelta(days=days)).isoformat()
        )
        await lab_store.handle(rt, lab.reported(sid, "routing", report))
    assert await lab_store.purge(rt, 365) == 1
    assert [row.simulation_id for row in await _rows(rt)] == [new]
