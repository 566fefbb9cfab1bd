"""lead-scoring's handlers and routes on SQLite and PostgreSQL (events read from the outbox)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.models import LeadScore
from lead_scoring.settings import ScoringSettings
from leadflow.events import (
    Attribution,
    Envelope,
    Lead,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
    LeadScored,
)
from support.apps import ADMIN, build, client, dispose, outbox, registered, runtime, tombstones


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    # Every value of one lead is learned (the minimum support has its own tests).
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url, learn_min_support=1)
    yield a
    await dispose(a)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


def good_lead(**kw: object) -> Lead:
    base: dict[str, object] = {
        "lead_id": uuid.uuid4(),
        "email": "cto@bigco.example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "company": "BigCo",
        "job_title": "CTO",
        "company_size": 400,
        "industry": "software",
        "country": "DE",
        "website": "https://bigco.example.com",
        "attribution": Attribution(source="webinar"),
        "captured_at": datetime.now(UTC),
    }
    return Lead.model_validate({**base, **kw})


def poor_lead() -> Lead:
    return Lead(lead_id=uuid.uuid4(), email="someone@gmail.com", captured_at=datetime.now(UTC))


async def deliver(app: FastAPI, event: LeadCaptured | LeadOutcome | LeadErased) -> None:
    """What the consumer loop does for one event: one transaction around the handler."""
    env = Envelope(data=event, source="/test")
    async with runtime(app).transaction() as uow:
        await registered(runtime(app), type(event))(uow, env)


async def test_a_good_lead_is_scored_and_qualified_once(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    lead = good_lead()
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    again = lead.model_copy(update={"attribution": Attribution(source="ads")})
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=again, duplicate=True, touch=2))
    events = [e.data for e in await outbox(app)]
    scored = [e for e in events if type(e) is LeadScored]
    qualified = [e for e in events if type(e) is LeadQualified]
    assert len(scored) == 2
    assert len(qualified) == 1
    assert qualified[0].lead == lead
    assert qualified[0].score >= qualified[0].threshold
    assert qualified[0].model_dump() == scored[0].model_dump()  # the same data, once encoded
    r = await http.get(f"/v1/scores/{lead.lead_id}", headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["qualified"] is True
    assert {f["name"] for f in body["factors"]}
    assert sum(f["points"] for f in body["factors"]) == pytest.approx(body["score"], abs=1)


async def test_a_poor_lead_is_scored_but_never_qualified(app: FastAPI) -> None:
    lead = poor_lead()
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    events = [e.data for e in await outbox(app)]
    assert [type(e) for e in events] == [LeadScored]
    assert events[0].qualified is False  # type: ignore[union-attr]


async def test_preview_scores_without_storing(app: FastAPI, http: httpx.AsyncClient) -> None:
    body = good_lead().model_dump(mode="json", exclude={"lead_id", "captured_at"})
    r = await http.post("/v1/scores/preview", json=body, headers=ADMIN)
    assert r.status_code == 200
    assert r.json()["qualified"] is True
    assert r.json()["model_version"] == "rules-default"
    assert await outbox(app) == []
    bad = await http.post(
        "/v1/scores/preview",
        json={"email": "x@y.example.com", "country": "Atlantis"},
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["country"]


async def test_outcomes_teach_the_model_once_per_lead(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    lead = good_lead()
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    now = datetime.now(UTC)
    await deliver(app, LeadOutcome(lead_id=lead.lead_id, stage="contacted", occurred_at=now))
    await deliver(app, LeadOutcome(lead_id=lead.lead_id, stage="won", occurred_at=now))
    await deliver(app, LeadOutcome(lead_id=lead.lead_id, stage="won", occurred_at=now))
    model = (await http.get("/v1/scoring/model", headers=ADMIN)).json()
    assert model["n_outcomes"] == 1
    assert model["n_won"] == 1
    industry = [a for a in model["attributes"] if a["attribute"] == "industry"]
    assert industry == [{**industry[0], "value": "software", "won": 1, "lost": 0, "win_rate": 1.0}]


async def test_rules_are_validated_versioned_and_used(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    current = (await http.get("/v1/scoring/rules", headers=ADMIN)).json()
    assert current["version"] == 0
    doc = current["rules"]
    assert (await http.put("/v1/scoring/rules", json=doc)).status_code == 401
    bad = {
        **doc,
        "rules": [
            *doc["rules"],
            {
                "name": "oops",
                "group": "fit",
                "points": 500,
                "reason": "x",
                "when": {"kind": "touches", "min": 2},
            },
        ],
    }
    r = await http.put("/v1/scoring/rules", json=bad, headers=ADMIN)
    assert r.status_code == 422
    assert any("oops" in e["message"] or "rules[" in e["field"] for e in r.json()["errors"])
    strict = {**doc, "threshold": 100}
    r = await http.put("/v1/scoring/rules", json=strict, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert (await http.get("/v1/scoring/rules", headers=ADMIN)).json()["version"] == 1
    lead = good_lead()
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    [scored] = [e.data for e in await outbox(app)]
    assert isinstance(scored, LeadScored)
    assert scored.threshold == 100
    assert scored.model_version == "rules-1"


async def test_erasure_drops_the_stored_lead(app: FastAPI) -> None:
    lead = good_lead()
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    await deliver(app, LeadErased(lead_id=lead.lead_id, erased_at=datetime.now(UTC)))
    row = await app.state.scorer.get(lead.lead_id)
    assert row.lead is None
    assert row.erased_at is not None
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead, duplicate=True, touch=2))
    # Scored + qualified from before were emptied by the erasure; nothing came after it.
    assert await outbox(app) == []
    # Tombstones for the lead on the topics scoring produces, after its last score of it.
    key = str(lead.lead_id).encode()
    assert await tombstones(app) == [("leads.scored", key), ("leads.qualified", key)]


async def test_an_erasure_handled_before_the_capture_keeps_the_lead_from_being_stored(
    app: FastAPI,
) -> None:
    """leads.erased and leads.captured are different topics: no order between them."""
    lead = good_lead()
    await deliver(app, LeadErased(lead_id=lead.lead_id, erased_at=datetime.now(UTC)))
    await deliver(app, LeadCaptured(lead_id=lead.lead_id, lead=lead))
    assert await outbox(app) == []  # neither scored nor qualified: nothing re-published
    assert await app.state.scorer.get(lead.lead_id) is None  # never scored
    async with runtime(app).sessions() as s:
        stored = await s.scalar(select(LeadScore.lead).where(LeadScore.lead_id == lead.lead_id))
    assert stored is None


async def test_a_batch_is_scored_as_its_events_one_by_one_would_be(app: FastAPI) -> None:
    known, erased, fresh = good_lead(), good_lead(), good_lead()
    await deliver(app, LeadCaptured(lead_id=known.lead_id, lead=known))
    await deliver(app, LeadCaptured(lead_id=erased.lead_id, lead=erased))
    await deliver(app, LeadErased(lead_id=erased.lead_id, erased_at=datetime.now(UTC)))
    before = len(await outbox(app))
    batch = [
        LeadCaptured(lead_id=fresh.lead_id, lead=fresh),
        LeadCaptured(lead_id=known.lead_id, lead=known, duplicate=True, touch=2),
        LeadCaptured(lead_id=erased.lead_id, lead=erased, duplicate=True, touch=2),
        LeadCaptured(lead_id=fresh.lead_id, lead=fresh, duplicate=True, touch=2),
        LeadCaptured(lead_id=known.lead_id, lead=known, duplicate=True),
    ]
    scorer: Scorer = app.state.scorer
    async with runtime(app).transaction() as uow:
        await scorer.batch_handlers[LeadCaptured](
            uow, [Envelope(data=e, source="/t") for e in batch]
        )
    events = [e.data for e in (await outbox(app))[before:]]
    assert [(type(e), e.lead_id) for e in events] == [
        (LeadScored, fresh.lead_id),
        (LeadQualified, fresh.lead_id),  # once, when it first qualifies
        (LeadScored, known.lead_id),
        (LeadScored, fresh.lead_id),
        (LeadScored, known.lead_id),
    ]
    rows = {x.lead_id: await scorer.get(x.lead_id) for x in (known, erased, fresh)}
    assert (rows[fresh.lead_id].touches, rows[known.lead_id].touches) == (2, 3)
    assert rows[fresh.lead_id].qualified_at is not None
    assert rows[fresh.lead_id].lead == fresh.model_dump(mode="json")
    assert [f["name"] for f in rows[fresh.lead_id].factors] == [
        f.name
        for f in events[3].factors  # type: ignore[union-attr]
    ]
    assert rows[erased.lead_id].lead is None
    assert rows[erased.lead_id].touches == 1
