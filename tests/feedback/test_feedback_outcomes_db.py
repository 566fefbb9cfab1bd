"""POST /v1/outcomes, campaign costs and auth over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from feedback_events import ADMIN, relay, unsent
from sqlalchemy import select

from feedback.models import LeadFacts, Outcome
from leadflow.events import LeadOutcome
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres

LEAD = uuid.UUID(int=0x1EAD)


async def post(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/outcomes", json={"lead_id": str(LEAD), **body}, headers=ADMIN)


async def test_an_accepted_outcome_is_stored_with_its_event_in_the_outbox(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    before = datetime.now(UTC)
    response = await post(client, stage="won", amount="1234.50", currency="eur", reason="signed")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["duplicate"]) == ("accepted", False)
    [(topic, key, envelope)] = await unsent(rt)
    assert (topic, key, envelope.source) == ("leads.outcomes", str(LEAD).encode(), "/feedback")
    event = envelope.data
    assert isinstance(event, LeadOutcome)
    assert (event.stage, event.amount, event.currency, event.reason) == (
        "won", Decimal("1234.50"), "EUR", None,
    )  # fmt: skip
    assert before <= event.occurred_at <= datetime.now(UTC)  # occurred_at defaults to now


@pytest.mark.parametrize(
    ("reason", "on_the_log"),
    [
        pytest.param("Jane Roe said her budget moved to 2027", None, id="free text stays here"),
        pytest.param("not_a_fit", "not_a_fit", id="a reason code travels"),
    ],
)
async def test_only_a_reason_code_reaches_the_event_log(
    rt: Runtime, client: httpx.AsyncClient, reason: str, on_the_log: str | None
) -> None:
    assert (await post(client, stage="lost", reason=reason)).status_code == 202
    [(_, _, envelope)] = await unsent(rt)
    assert isinstance(envelope.data, LeadOutcome)
    assert envelope.data.reason == on_the_log
    async with rt.sessions() as s:
        stored = (await s.execute(select(Outcome.reason))).scalars().all()
    assert stored == [reason]  # what sales wrote is kept here, and erased with the lead


@pytest.mark.parametrize(
    ("first", "repeat"),
    [
        pytest.param({"stage": "sql", "external_id": "crm-1"},
                     {"stage": "sql", "external_id": "crm-1", "reason": "again"},
                     id="a repeat of the same external id"),
        pytest.param({"stage": "contacted"}, {"stage": "contacted"},
                     id="a repeat of the same lead and stage without an external id"),
    ],
)  # fmt: skip
async def test_a_repeat_returns_the_first_answer_and_publishes_nothing_more(
    rt: Runtime, client: httpx.AsyncClient, first: dict[str, Any], repeat: dict[str, Any]
) -> None:
    answer = (await post(client, **first)).json()
    again = await post(client, **repeat)
    assert again.status_code == 202
    assert again.json() == {**answer, "duplicate": True}
    assert len(await unsent(rt)) == 1


async def test_an_external_id_reused_for_another_lead_is_a_conflict(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    assert (await post(client, stage="won", external_id="crm-9")).status_code == 202
    other = {"lead_id": str(uuid.uuid4()), "stage": "won", "external_id": "crm-9"}
    response = await client.post("/v1/outcomes", json=other, headers=ADMIN)
    assert response.status_code == 409
    assert len(await unsent(rt)) == 1


async def test_won_after_lost_is_refused_unless_the_deal_is_reopened(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    assert (await post(client, stage="lost", reason="budget")).status_code == 202
    refused = await post(client, stage="won", amount="50", currency="EUR")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "reopen" in refused.json()["detail"]
    assert len(await unsent(rt)) == 1  # the refused outcome staged no event
    reopened = await post(client, stage="won", amount="50", currency="EUR", reopen=True)
    assert reopened.status_code == 202
    assert (await post(client, stage="lost", external_id="x")).status_code == 409
    assert await relay(rt) == 2
    async with rt.sessions() as s:
        facts = await s.get(LeadFacts, LEAD)
    assert facts is not None
    assert facts.lost_at is None
    assert (facts.won_at is not None, facts.amount, facts.currency) == (True, Decimal(50), "EUR")


async def test_the_facts_follow_the_latest_close_when_a_won_deal_is_reopened_as_lost(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    won_at = datetime(2026, 5, 1, tzinfo=UTC)
    await post(client, stage="won", amount="9", currency="EUR", occurred_at=won_at.isoformat())
    lost_at = won_at + timedelta(days=3)
    await post(client, stage="lost", reopen=True, occurred_at=lost_at.isoformat())
    await relay(rt)
    async with rt.sessions() as s:
        facts = (await s.scalars(select(LeadFacts))).one()
    assert (facts.won_at, facts.lost_at, facts.amount) == (None, lost_at, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"stage": "won", "amount": "-1", "currency": "EUR"}, "amount",
                     id="a negative amount"),
        pytest.param({"stage": "won", "amount": "1", "currency": "EURO"}, "currency",
                     id="a currency that is not three letters"),
        pytest.param({"stage": "won", "amount": "1"}, "currency",
                     id="an amount without a currency"),
        pytest.param({"stage": "signed"}, "stage", id="an unknown stage"),
        pytest.param({"stage": "won", "occurred_at": "2026-01-01T00:00:00"}, "occurred_at",
                     id="a time without a zone"),
        pytest.param({"stage": "won", "colour": "red"}, "colour", id="an unknown field"),
    ],
)  # fmt: skip
async def test_an_invalid_outcome_is_refused_with_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    response = await post(client, **body)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_campaign_cost_is_set_and_replaced(client: httpx.AsyncClient) -> None:
    first = await client.put(
        "/v1/campaigns/q4/cost", json={"amount": "100", "currency": "EUR"}, headers=ADMIN
    )
    second = await client.put(
        "/v1/campaigns/q4/cost", json={"amount": "250.5", "currency": "EUR"}, headers=ADMIN
    )
    assert (first.status_code, second.status_code) == (200, 200)
    assert (second.json()["utm_campaign"], Decimal(second.json()["amount"])) == (
        "q4", Decimal("250.5"),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"group_by": "colour"}, "group_by", id="an unknown grouping"),
        pytest.param({"from": "2026-02-01", "to": "2026-01-01"}, "to", id="a period backwards"),
    ],
)
async def test_a_bad_funnel_query_is_refused_with_422(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/metrics/funnel", params=params, headers=ADMIN)
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 401, id="no token is unauthorised"),
        pytest.param({"Authorization": "Bearer wrong"}, 401, id="an unknown token is refused"),
    ],
)
async def test_every_feedback_call_needs_a_known_token(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    calls = [
        client.post("/v1/outcomes", json={"lead_id": str(LEAD), "stage": "won"}, headers=headers),
        client.put("/v1/campaigns/q4/cost", json={"amount": 1, "currency": "EUR"}, headers=headers),
        client.get("/v1/metrics/funnel", headers=headers),
        client.get(f"/v1/leads/{LEAD}/journey", headers=headers),
    ]
    for call in calls:
        assert (await call).status_code == status
