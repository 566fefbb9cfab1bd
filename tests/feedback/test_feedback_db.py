"""feedback's read model and funnel on real databases (SQLite and PostgreSQL), no Kafka.

Events are delivered the way the kernel's consumer does it (inbox claim + handler in one
transaction); outcomes go in over HTTP and come back through the outbox, as on the broker.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from feedback_events import (
    ADMIN,
    RITA,
    SAM,
    T0,
    assigned,
    at,
    captured,
    deliver,
    erased,
    lead,
    relay,
    scored,
)
from sqlalchemy import func, select

from feedback.handlers import record_event
from feedback.models import JourneyEvent, LeadFacts, Outcome
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres

A, B, C, D = (uuid.UUID(int=n) for n in (0xA, 0xB, 0xC, 0xD))
PERIOD = {"from": at(days=-1).isoformat(), "to": at(days=30).isoformat()}


async def outcome(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/outcomes", json=body, headers=ADMIN)
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def seed(rt: Runtime, client: httpx.AsyncClient) -> None:
    """Two webinar leads on campaign q4 (one won, one lost), one organic, one too old."""
    lead_a = lead(A, T0, source="webinar", utm_source="linkedin", utm_campaign="q4")
    lead_b = lead(B, at(hours=1), source="webinar", utm_source="linkedin", utm_campaign="q4")
    lead_c = lead(C, at(hours=2), source="organic")
    lead_d = lead(D, at(days=-30), source="webinar", utm_campaign="old")
    touch_a = lead(A, at(days=5), source="organic")
    for envelope in (
        captured(lead_a), scored(lead_a, 80, at(hours=1)), assigned(A, RITA, at(seconds=90)),
        captured(lead_b), scored(lead_b, 70, at(hours=2)),
        assigned(B, SAM, at(hours=1, seconds=30)),
        captured(lead_c), scored(lead_c, 20, at(hours=3)),
        captured(lead_d), captured(touch_a, touch=2),
    ):  # fmt: skip
        assert await deliver(rt, envelope)
    await outcome(client, lead_id=str(A), stage="contacted", occurred_at=at(days=1).isoformat())
    await outcome(client, lead_id=str(A), stage="sql", occurred_at=at(days=2).isoformat())
    await outcome(client, lead_id=str(A), stage="won", occurred_at=at(days=10).isoformat(),
                  amount="5000.00", currency="EUR", external_id="crm-a-won",
                  reason="Ada signed")  # fmt: skip
    await outcome(client, lead_id=str(B), stage="lost", occurred_at=at(days=4).isoformat(),
                  reason="budget")  # fmt: skip
    response = await client.put(
        "/v1/campaigns/q4/cost", json={"amount": "1000", "currency": "EUR"}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    assert await relay(rt) == 4


async def funnel(client: httpx.AsyncClient, **params: str) -> dict[str | None, dict[str, Any]]:
    response = await client.get("/v1/metrics/funnel", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return {g["key"]: g for g in response.json()["groups"]}


async def test_the_funnel_by_source_matches_the_numbers_computed_by_hand(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    groups = await funnel(client, group_by="source", **PERIOD)
    assert set(groups) == {"webinar", "organic"}  # lead D is older than the period
    webinar = {k: v for k, v in groups["webinar"].items() if k not in ("key", "label")}
    assert webinar == {
        "leads": 2, "mqls": 2, "sqls": 1, "won": 1, "lost": 1,
        "mql_rate": 1.0, "win_rate": 0.5, "revenue": 5000.0, "currency": "EUR",
        "avg_deal_size": 5000.0, "median_sales_cycle_days": 10.0,
        "median_speed_to_lead_seconds": 60.0,  # median of 90 s (A) and 30 s (B)
        "median_assigned_to_contacted_seconds": 86310.0,  # A only: 1 day - 90 s
        "cost": 1000.0, "cost_currency": "EUR", "cost_per_lead": 500.0,
        "cac": 1000.0, "roi": 4.0,  # cac: 1000 / 1 won
        # A and B both have a verdict (contacted; lost), none a rejection: 2 verdicts are
        # fewer than LEADFLOW_MIN_VERDICTS (10), so no rate is given.
        "rejected": 0, "verdicts": 2, "acceptance_rate": None,
        "acceptance_wilson_lower": None, "acceptance_wilson_upper": None,
        "acceptance_status": "insufficient_data", "rejection_reasons": {},
        "win_rate_wilson_lower": 0.0945, "win_rate_wilson_upper": 0.9055,  # Wilson 95 % of 1/2
    }  # fmt: skip
    organic = groups["organic"]
    assert (organic["leads"], organic["mqls"], organic["mql_rate"]) == (1, 0, 0.0)
    assert (organic["win_rate"], organic["revenue"], organic["cost"]) == (None, 0.0, None)


async def test_the_funnel_groups_by_campaign_rep_and_without_a_period(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    by_campaign = await funnel(client, group_by="utm_campaign", **PERIOD)
    assert (by_campaign["q4"]["cost"], by_campaign["q4"]["roi"]) == (1000.0, 4.0)
    assert by_campaign[None]["leads"] == 1
    by_rep = await funnel(client, group_by="rep", **PERIOD)
    assert (by_rep[str(RITA.rep_id)]["label"], by_rep[str(RITA.rep_id)]["won"]) == ("Rita Rep", 1)
    assert by_rep[str(SAM.rep_id)]["lost"] == 1
    everything = await funnel(client, group_by="source")
    assert everything["webinar"]["leads"] == 3
    assert everything["webinar"]["cost"] is None  # campaign "old" has no cost


async def test_the_first_touch_decides_attribution_and_touches_are_counted(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    async with rt.sessions() as s:
        facts = await s.get(LeadFacts, A)
    assert facts is not None
    assert (facts.source, facts.captured_at, facts.touches) == ("webinar", T0, 2)
    assert (facts.score, facts.mql_at, facts.rep_name) == (80, at(hours=1), "Rita Rep")
    assert (facts.contacted_at, facts.sql_at, facts.won_at) == (at(days=1), at(days=2), at(days=10))


async def test_a_redelivered_event_changes_nothing(rt: Runtime) -> None:
    envelope = captured(lead(A, T0, source="webinar"), touch=3)
    assert await deliver(rt, envelope)
    assert not await deliver(rt, envelope)  # the inbox saw this ce_id
    async with rt.transaction() as uow:
        await record_event(uow, envelope)  # and even without the inbox the journey holds it once
    async with rt.sessions() as s:
        rows = await s.scalar(select(func.count()).select_from(JourneyEvent))
        facts = await s.get(LeadFacts, A)
    assert rows == 1
    assert facts is not None
    assert facts.touches == 3


async def test_an_outcome_before_its_lead_is_counted_once_the_lead_arrives(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await outcome(client, lead_id=str(C), stage="won", amount="10", currency="usd")
    await relay(rt)
    assert await funnel(client, group_by="source") == {}
    await deliver(rt, captured(lead(C, T0, source="partner")))
    partner = (await funnel(client, group_by="source"))["partner"]
    assert (partner["leads"], partner["won"], partner["revenue"], partner["currency"]) == (
        1, 1, 10.0, "USD",
    )  # fmt: skip


async def test_the_journey_lists_a_leads_events_in_the_order_they_happened(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    response = await client.get(f"/v1/leads/{A}/journey", headers=ADMIN)
    assert response.status_code == 200
    events = response.json()["events"]
    assert [e["ce_type"].split(".")[-2] for e in events] == [
        "captured", "assigned", "qualified", "outcome", "outcome", "captured", "outcome",
    ]  # fmt: skip
    assert [e["data"].get("stage") for e in events if "stage" in e["data"]] == [
        "contacted", "sql", "won",
    ]  # fmt: skip
    text = response.text
    for personal in ("example.com", "Lovelace", "+4420", "Analytical", "secret-note", "seller"):
        assert personal not in text  # the journey never held contact data
    missing = await client.get(f"/v1/leads/{uuid.uuid4()}/journey", headers=ADMIN)
    assert missing.status_code == 404


async def test_erasure_drops_snapshots_and_reasons_and_keeps_the_metrics(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    await seed(rt, client)
    before = await funnel(client, group_by="source", **PERIOD)
    assert await deliver(rt, erased(A, at(days=20)))
    async with rt.sessions() as s:
        rows = list(await s.scalars(select(JourneyEvent).where(JourneyEvent.lead_id == A)))
        reasons = list(await s.scalars(select(Outcome.reason).where(Outcome.lead_id == A)))
        facts = await s.get(LeadFacts, A)
    assert rows
    assert all("lead" not in r.data and "reason" not in r.data for r in rows)
    assert reasons == [None, None, None]
    assert facts is not None
    assert facts.erased_at == at(days=20)
    assert await funnel(client, group_by="source", **PERIOD) == before
    # A late replay of the capture does not bring the snapshot back.
    assert await deliver(rt, captured(lead(A, T0, source="webinar")))
    async with rt.sessions() as s:
        rows = list(await s.scalars(select(JourneyEvent).where(JourneyEvent.lead_id == A)))
    assert all("lead" not in r.data for r in rows)
