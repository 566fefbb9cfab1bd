"""Rejected MQLs in lead-scoring (issue 24): negative examples for the model, and recycling.

Through the registered handlers with the consumer's inbox, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from scoring_kit import deliver

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import (
    Attribution,
    Envelope,
    Event,
    Lead,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
)
from support.apps import ADMIN, build, client, dispose, outbox, runtime

COOLDOWN_DAYS = 2


class RolledBack(Exception):
    """Raised inside the transaction to roll it back, as a failing handler would."""


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(
        ScoringSettings,
        build_app,
        MIGRATIONS,
        database_url,
        recycle_cooldown_days=COOLDOWN_DAYS,
        learn_min_support=1,  # every value of one lead is learned (tested apart)
    )
    yield a
    await dispose(a)


def mql(industry: str = "software") -> Lead:
    """A lead the default rules qualify: the CTO of a 400-person company, from a webinar."""
    return Lead(
        lead_id=uuid.uuid4(),
        email="cto@bigco.example.com",
        job_title="CTO",
        company_size=400,
        industry=industry,
        country="DE",
        attribution=Attribution(source="webinar"),
        captured_at=datetime.now(UTC),
    )


def env(event: Event, at: datetime | None = None) -> Envelope:
    return Envelope(data=event, source="/test", time=at or datetime.now(UTC))


def rejected(lead_id: uuid.UUID, reason: str, at: datetime, **kw: Any) -> Envelope:
    event = LeadOutcome(lead_id=lead_id, stage="rejected", reason=reason, occurred_at=at, **kw)
    return env(event)


def touch(lead: Lead, n: int, at: datetime) -> Envelope:
    return env(LeadCaptured(lead_id=lead.lead_id, lead=lead, duplicate=True, touch=n), at)


async def qualifications(app: FastAPI, lead_id: uuid.UUID) -> int:
    return sum(
        1
        for e in await outbox(app)
        if isinstance(e.data, LeadQualified) and e.data.lead_id == lead_id
    )


async def score_of(http: httpx.AsyncClient, lead_id: uuid.UUID) -> dict[str, Any]:
    answer = await http.get(f"/v1/scores/{lead_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


async def test_a_recycled_lead_qualifies_again_only_on_a_touch_after_the_cool_down(
    app: FastAPI,
) -> None:
    lead = mql()
    start = datetime.now(UTC)
    await deliver(app, env(LeadCaptured(lead_id=lead.lead_id, lead=lead), start))
    assert await qualifications(app, lead.lead_id) == 1
    rejection = rejected(lead.lead_id, "not_ready", start, recycle=True)
    await deliver(app, rejection)
    await deliver(app, rejection)  # redelivered: the inbox drops it
    async with client(app) as http:
        state = await score_of(http, lead.lead_id)
        assert state["qualified"] is False
        assert state["rejection_reason"] == "not_ready"
        rejected_at = datetime.fromisoformat(state["recycled_at"])  # when scoring heard of it
        assert rejected_at == datetime.fromisoformat(state["rejected_at"]) > start
        first_qualified_at = state["qualified_at"]  # its history stays
        # A touch captured before the rejection, delivered late, is no new evidence; one
        # within the cool-down is scored but does not qualify.
        await deliver(app, touch(lead, 2, rejected_at - timedelta(microseconds=1)))
        await deliver(app, touch(lead, 3, rejected_at + timedelta(days=COOLDOWN_DAYS - 1)))
        assert await qualifications(app, lead.lead_id) == 1
        during = await score_of(http, lead.lead_id)
        assert during["qualified"] is False
        assert during["qualified_at"] == first_qualified_at
        # After the cool-down, a touch makes it an MQL again: leads.qualified once more.
        after = rejected_at + timedelta(days=COOLDOWN_DAYS, seconds=1)
        await deliver(app, touch(lead, 4, after))
        await deliver(app, touch(lead, 5, after + timedelta(seconds=1)))
        assert await qualifications(app, lead.lead_id) == 2
        again = await score_of(http, lead.lead_id)
        assert again["qualified"] is True
        assert again["qualified_at"] > first_qualified_at
        assert datetime.fromisoformat(again["recycled_at"]) == rejected_at
        # The new cycle's verdict teaches the model again.
        won = LeadOutcome(lead_id=lead.lead_id, stage="won", occurred_at=after)
        await deliver(app, env(won))
        model = (await http.get("/v1/scoring/model", headers=ADMIN)).json()
    assert (model["n_outcomes"], model["n_won"], model["n_rejected"]) == (2, 1, 1)
    industry = [a for a in model["attributes"] if a["attribute"] == "industry"]
    assert industry == [
        industry[0] | {"value": "software", "won": 1, "lost": 0, "rejected": 1, "win_rate": 0.5}
    ]


@pytest.mark.parametrize("reason", ["spam", "duplicate", "not_a_fit"])
async def test_a_lead_rejected_without_recycle_never_qualifies_again(
    app: FastAPI, reason: str
) -> None:
    lead = mql()
    start = datetime.now(UTC)
    await deliver(app, env(LeadCaptured(lead_id=lead.lead_id, lead=lead), start))
    await deliver(app, rejected(lead.lead_id, reason, start))
    for n in (2, 3):
        await deliver(app, touch(lead, n, start + timedelta(days=365 * n)))
    assert await qualifications(app, lead.lead_id) == 1
    async with client(app) as http:
        state = await score_of(http, lead.lead_id)
    assert (state["qualified"], state["recycled_at"], state["rejection_reason"]) == (
        False,
        None,
        reason,
    )


async def test_rejections_show_in_the_model_next_to_won_and_lost(app: FastAPI) -> None:
    leads = [mql(industry="retail"), mql(industry="retail"), mql(industry="software")]
    for lead in leads:
        await deliver(app, env(LeadCaptured(lead_id=lead.lead_id, lead=lead)))
    now = datetime.now(UTC)
    await deliver(app, rejected(leads[0].lead_id, "not_a_fit", now))
    await deliver(app, env(LeadOutcome(lead_id=leads[1].lead_id, stage="lost", occurred_at=now)))
    await deliver(app, env(LeadOutcome(lead_id=leads[2].lead_id, stage="won", occurred_at=now)))
    # A lost lead rejected later (reopened) is not learned twice.
    await deliver(app, rejected(leads[1].lead_id, "other", now))
    async with client(app) as http:
        model = (await http.get("/v1/scoring/model", headers=ADMIN)).json()
    rows = {(a["attribute"], a["value"]): a for a in model["attributes"]}
    assert (model["n_outcomes"], model["n_won"], model["n_rejected"]) == (3, 1, 1)
    retail = rows["industry", "retail"]
    assert (retail["won"], retail["lost"], retail["rejected"], retail["win_rate"]) == (0, 1, 1, 0)
    country = rows["country", "de"]
    assert (country["won"], country["lost"], country["rejected"]) == (1, 1, 1)
    assert country["win_rate"] == pytest.approx(1 / 3)


async def rejection_then_failure(app: FastAPI, lead_id: uuid.UUID) -> None:
    """The rejection handled, then something else in its transaction fails."""
    async with runtime(app).transaction() as uow:
        await app.state.scorer.on_lead_outcome(uow, rejected(lead_id, "spam", datetime.now(UTC)))
        raise RolledBack


async def test_a_rolled_back_rejection_never_reaches_the_cached_model(app: FastAPI) -> None:
    scorer: Scorer = app.state.scorer
    lead = mql()
    await deliver(app, env(LeadCaptured(lead_id=lead.lead_id, lead=lead)))
    async with runtime(app).sessions() as s:
        assert await scorer.model(s) is None  # checked now: cached for RECHECK_SECONDS
    with pytest.raises(RolledBack):
        await rejection_then_failure(app, lead.lead_id)
    async with runtime(app).sessions() as s:
        assert await scorer.model(s) is None
    await deliver(app, rejected(lead.lead_id, "spam", datetime.now(UTC)))
    async with runtime(app).sessions() as s:
        model = await scorer.model(s)
    assert model is not None
    assert model.n_rejected == 1


async def test_an_erasure_drops_the_rejection_reason(app: FastAPI) -> None:
    lead = mql()
    await deliver(app, env(LeadCaptured(lead_id=lead.lead_id, lead=lead)))
    await deliver(app, rejected(lead.lead_id, "not_a_fit", datetime.now(UTC)))
    await deliver(app, env(LeadErased(lead_id=lead.lead_id, erased_at=datetime.now(UTC))))
    async with client(app) as http:
        state = await score_of(http, lead.lead_id)
    assert (state["rejection_reason"], state["qualified"]) == (None, False)
    assert state["rejected_at"] is not None
