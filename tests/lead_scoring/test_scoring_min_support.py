"""The learned model keeps a value as its own weight only once enough leads share it: an
industry or campaign one person typed ("jane doe consulting") is never stored by value, so
it cannot outlive that person's erasure inside the model. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from scoring_kit import deliver, lead, outcome

from lead_scoring import learning
from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.models import Base, LeadScore, ModelState, ValueSupport
from lead_scoring.settings import ScoringSettings
from leadflow.events import Attribution, Lead, LeadCaptured, LeadErased
from leadflow.migrations import upgrade
from support.apps import ADMIN, build, client, dispose, json_of, runtime
from support.db_text import database_text, insert_row

pytestmark = pytest.mark.postgres

RARE_INDUSTRY = "Jane Doe Consulting"
RARE_CAMPAIGN = "jane-doe-spring-offer"


def support_table_drift(conn: sa.Connection) -> list[Any]:
    """Where the migrated value_support and model_state tables differ from their models."""
    found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [d for d in found if "value_support" in repr(d) or "model_state" in repr(d)]


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url)  # the default: 5
    yield a
    await dispose(a)


def cto(industry: str = "software", campaign: str | None = None, n: int = 0) -> Lead:
    return lead(
        email=f"cto{n}@bigco{n}.example.com", job_title="CTO", company_size=400,
        industry=industry, country="DE",
        attribution=Attribution(source="webinar", utm_campaign=campaign),
    )  # fmt: skip


async def stored_model(app: FastAPI) -> dict[str, Any]:
    async with runtime(app).sessions() as s:
        doc: dict[str, Any] = (await s.scalars(sa.select(ModelState.doc))).one()
    return doc


async def stored_support(app: FastAPI) -> tuple[dict[str, int], int | None]:
    """What model_state keeps beside the doc: each typed value's leads, the minimum."""
    async with runtime(app).sessions() as s:
        row = (await s.execute(sa.select(ModelState.leads, ModelState.min_support))).one()
    return row.leads or {}, row.min_support


async def test_a_value_fewer_leads_share_than_the_minimum_is_not_in_the_stored_model(
    app: FastAPI, database_url: str
) -> None:
    rare = cto(RARE_INDUSTRY, RARE_CAMPAIGN)
    common = [cto(n=n) for n in range(5)]  # software, five leads: learned
    for x in (rare, *common):
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    await deliver(app, outcome(rare.lead_id, "won"))
    for i, x in enumerate(common):
        await deliver(app, outcome(x.lead_id, "won" if i % 2 else "lost"))
    features = (await stored_model(app))["features"]
    assert "industry=software" in features
    assert (features["industry=software"]["won"], features["industry=software"]["lost"]) == (2, 3)
    text = json.dumps(await stored_model(app)).lower()
    assert RARE_INDUSTRY.lower() not in text
    assert RARE_CAMPAIGN not in text
    # The rare lead still taught what it shares with others (its country, its source).
    assert features["country=de"]["won"] == 3
    # Once the person is erased, nothing in the database holds what they typed.
    await deliver(app, LeadErased(lead_id=rare.lead_id, erased_at=datetime.now(UTC)))
    everything = (await database_text(database_url)).lower()
    assert RARE_INDUSTRY.lower() not in everything
    assert RARE_CAMPAIGN not in everything


async def test_a_value_is_learned_from_the_lead_that_makes_it_common(app: FastAPI) -> None:
    shared = [cto("Acme Widgets", n=n) for n in range(5)]
    for x in shared:
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    for x in shared[:4]:
        await deliver(app, outcome(x.lead_id, "lost"))
    assert "industry=acme widgets" not in (await stored_model(app))["features"]
    await deliver(app, outcome(shared[4].lead_id, "won"))
    acme = (await stored_model(app))["features"]["industry=acme widgets"]
    # Its counts are its five leads' verdicts; its weight learned from the fifth on.
    assert (acme["won"], acme["lost"], acme["rejected"]) == (1, 4, 0)
    assert acme["mean"] > 0


def feature(won: int, lost: int, rejected: int = 0) -> dict[str, Any]:
    return {"mean": 0.1, "variance": 0.1, "won": won, "lost": lost, "rejected": rejected}


async def judged(database_url: str, x: Lead | None, stage: str | None, **row: Any) -> uuid.UUID:
    """A lead_scores row of a judged lead as an earlier version left it (None: erased)."""
    lead_id = x.lead_id if x is not None else uuid.uuid4()
    lead_doc = x.model_dump(mode="json") if x is not None else None
    await insert_row(database_url, cast(sa.Table, LeadScore.__table__), lead_id=lead_id,
                     lead=lead_doc, touches=1, score=80, qualified=True, threshold=60,
                     factors=[], model_version="rules-0", scored_at=datetime.now(UTC),
                     outcome=stage, **row)  # fmt: skip
    return lead_id


async def support_rows(app: FastAPI) -> set[tuple[str, uuid.UUID]]:
    async with runtime(app).sessions() as s:
        rows = await s.execute(sa.select(ValueSupport.feature, ValueSupport.lead_id))
        return {(f, lead_id) for f, lead_id in rows}


async def cut(app: FastAPI) -> bool:
    """What the service does when it starts (its learned-model-cut worker)."""
    async with runtime(app).transaction() as uow:
        return await learning.cut(uow.session, app.state.scorer.minimum)


async def test_a_model_from_before_is_cut_by_the_service_from_the_counts_of_the_migration(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Migration 0006 reads no setting and counts every typed value of each judged lead
    not erased; the service cuts the stored model to its own minimum (here 2) by distinct
    leads: a value one recycled lead taught three times goes, as does one only an erased
    lead shared."""
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0005")
    doc = {
        "format": "leadflow.learned.bayes-probit.v1", "prior_variance": 0.15,
        "bias_prior_variance": 1.0, "beta": 1.0, "n_outcomes": 9, "n_won": 3,
        "n_rejected": 3,
        "features": {
            "bias": feature(3, 3, 3), "industry=software": feature(2, 1),
            "industry=jane doe consulting": feature(0, 1),
            f"utm_campaign={RARE_CAMPAIGN}": feature(0, 1),
            "industry=acme": feature(0, 1, 2), "industry=globex": feature(0, 0, 1),
            "industry=erased inc": feature(1, 0),
            "country=de": feature(2, 3, 2), "source=webinar": feature(2, 3, 2),
            "size_band=200-999": feature(2, 3, 2), "industry=unknown": feature(0, 1),
        },
    }  # fmt: skip
    table = cast(sa.Table, ModelState.__table__)  # as it was at 0005
    await insert_row(database_url, table, name="default", revision=3, doc=doc,
                     updated_at=datetime.now(UTC))  # fmt: skip
    rare = await judged(database_url, cto(RARE_INDUSTRY, RARE_CAMPAIGN, n=1), "lost")
    recycled = await judged(
        database_url, cto("Acme", n=2), "lost", rejected_at=datetime.now(UTC)
    )  # rejected twice, then lost
    # Rejected, recycled and qualified again: no verdict on this cycle yet.
    again = await judged(database_url, cto("Globex", n=3), None, rejected_at=datetime.now(UTC))
    await judged(database_url, None, "won")  # erased: nothing of it counts
    software = [await judged(database_url, cto(n=4), "won"),
                await judged(database_url, cto(n=5), "lost")]  # fmt: skip
    monkeypatch.setenv("LEADFLOW_LEARN_MIN_SUPPORT", "1")  # the migration reads no setting
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    app = await build(ScoringSettings, build_app, MIGRATIONS, database_url, learn_min_support=2)
    try:
        counted = await support_rows(app)
        judged_leads = {rare, recycled, again, *software}
        assert {lead_id for _, lead_id in counted} == judged_leads
        assert ("industry=software", software[0]) in counted  # a value the model holds too
        assert len(counted) == 4 + 3 * 4  # every typed value of each judged lead not erased
        assert await cut(app) is True
        assert await cut(app) is False  # cut already
        kept = await support_rows(app)
        async with runtime(app).sessions() as s:
            state = (await s.scalars(sa.select(ModelState))).one()
            cleaned, revision, leads = state.doc, state.revision, state.leads
        async with runtime(app).engine.connect() as conn:
            drift = await conn.run_sync(support_table_drift)
    finally:
        await dispose(app)
    assert kept == {
        ("industry=jane doe consulting", rare), (f"utm_campaign={RARE_CAMPAIGN}", rare),
        ("industry=acme", recycled), ("industry=globex", again),
    }  # fmt: skip
    assert drift == []
    assert set(cleaned["features"]) == {
        "bias", "industry=software", "country=de", "source=webinar", "size_band=200-999",
        "industry=unknown",
    }  # fmt: skip
    assert leads is not None
    assert (leads["industry=software"], leads["country=de"]) == (2, 5)
    assert state.min_support == 2
    assert revision == 4  # replicas reload it
    assert cleaned["n_outcomes"] == 9
    # A replica that runs another minimum says so, once.
    other = await build(ScoringSettings, build_app, MIGRATIONS, database_url, learn_min_support=3)
    try:
        with caplog.at_level(logging.WARNING, logger="lead_scoring.learning"):
            shown = await other.state.scorer.learned()
            other.state.scorer.minimum.restored(state)
    finally:
        await dispose(other)
    warned = [r for r in caplog.records if "LEADFLOW_LEARN_MIN_SUPPORT=3" in r.getMessage()]
    assert len(warned) == 1
    assert "software" not in {a["value"] for a in shown["attributes"]}  # 2 leads of 3


async def test_a_lowered_minimum_learns_the_values_it_lets_in_and_their_rows_go(
    app: FastAPI, database_url: str
) -> None:
    """value_support holds rows only of values the model does not keep: after the minimum
    is lowered, the cut learns each value whose rows reach it and deletes those rows."""
    acme = [cto("Acme Widgets", n=n) for n in range(3)]
    for x, stage in zip(acme, ("lost", "lost", "won"), strict=True):
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
        await deliver(app, outcome(x.lead_id, stage))
    assert len({lead_id for f, lead_id in await support_rows(app) if "acme" in f}) == 3
    lowered = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                          learn_min_support=3)  # fmt: skip
    try:
        other = cto(industry="retail", n=9)  # any verdict cuts a model cut to another minimum
        await deliver(lowered, LeadCaptured(lead_id=other.lead_id, lead=other))
        await deliver(lowered, outcome(other.lead_id, "lost"))
        left = await support_rows(lowered)
        doc = await stored_model(lowered)
        leads, minimum = await stored_support(lowered)
    finally:
        await dispose(lowered)
    assert not [f for f, _ in left if "acme" in f]
    learned = doc["features"]["industry=acme widgets"]
    assert (learned["won"], learned["lost"], leads["industry=acme widgets"]) == (1, 2, 3)
    assert minimum == 3
    assert {f for f, _ in left} == {"industry=retail"}  # one lead: still counted


async def test_a_simulation_scores_with_the_model_live_scoring_uses(app: FastAPI) -> None:
    """A stored model still holding a rare value (saved before the minimum, or under a lower
    one) moves no simulated score: the simulation's "now" is what live scoring says."""
    leads = [cto(RARE_INDUSTRY, n=0), cto(n=1)]
    for x in leads:  # 80 by the rules: a strong rare weight would only add to that
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    feature = {"mean": -4.0, "variance": 0.01, "won": 0, "lost": 1, "rejected": 0}
    doc = {
        "prior_variance": 0.15, "bias_prior_variance": 1.0, "beta": 1.0,
        "n_outcomes": 1200, "n_won": 600, "n_rejected": 0,  # the learned part weighs 0.5
        "features": {"bias": feature | {"mean": 0.0, "won": 600, "lost": 600},
                     f"industry={RARE_INDUSTRY.lower()}": feature},
    }  # fmt: skip
    async with runtime(app).transaction() as uow:
        uow.session.add(ModelState(name="default", revision=1, doc=doc,
                                   updated_at=datetime.now(UTC)))  # fmt: skip
    scorer = app.state.scorer
    live = [(await scorer.preview(x)).qualified for x in leads]
    now = datetime.now(UTC)
    window = {"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()}
    async with client(app) as http:
        simulated = json_of(await http.post("/v1/scoring/simulations", json=window,
                                            headers=ADMIN))  # fmt: skip
    assert live == [True, True]  # the rare value (-4) is not in the model live scoring uses
    assert simulated["mqls_now"] == sum(live)


async def test_a_recycled_lead_judged_three_times_is_one_lead_of_its_values(
    database_url: str,
) -> None:
    """Support counts distinct leads: three verdicts of one recycled lead are one lead, so a
    minimum raised to 2 drops the value they taught at a minimum of 1."""
    app = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                      learn_min_support=1, recycle_cooldown_days=0)  # fmt: skip
    try:
        jane = cto(RARE_INDUSTRY)
        await deliver(app, LeadCaptured(lead_id=jane.lead_id, lead=jane))
        for n, stage in enumerate(("rejected", "rejected", "lost"), start=2):
            verdict = {"reason": "not_ready", "recycle": True} if stage == "rejected" else {}
            await deliver(app, outcome(jane.lead_id, stage, **verdict))
            again = LeadCaptured(lead_id=jane.lead_id, lead=jane, duplicate=True, touch=n)
            await deliver(app, again)  # recycled: qualifies again, its next verdict teaches
        taught = (await stored_model(app))["features"][f"industry={RARE_INDUSTRY.lower()}"]
    finally:
        await dispose(app)
    assert (taught["rejected"], taught["lost"]) == (2, 1)
    raised = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                         learn_min_support=2)  # fmt: skip
    try:
        learned = await raised.state.scorer.learned()
    finally:
        await dispose(raised)
    assert ("industry", RARE_INDUSTRY.lower()) not in {
        (a["attribute"], a["value"]) for a in learned["attributes"]
    }


async def test_the_service_cuts_the_stored_model_when_it_starts(app: FastAPI) -> None:
    """Its learned-model-cut worker cuts a model saved before the minimum without waiting
    for a verdict, and keeps running (a worker that ends reads as stuck)."""
    doc = {
        "prior_variance": 0.15, "bias_prior_variance": 1.0, "beta": 1.0, "n_outcomes": 1,
        "n_won": 0, "features": {"bias": feature(0, 1),
                                 f"industry={RARE_INDUSTRY.lower()}": feature(0, 1)},
    }  # fmt: skip
    async with runtime(app).transaction() as uow:
        uow.session.add(ModelState(name="default", revision=1, doc=doc,
                                   updated_at=datetime.now(UTC)))  # fmt: skip
    [worker] = [w for name, w in runtime(app).workers if name == "learned-model-cut"]
    task = asyncio.create_task(worker())
    try:
        for _ in range(200):
            if (await stored_support(app))[1] == 5:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)
        assert not task.done()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    cut_doc = await stored_model(app)
    assert (await stored_support(app))[1] == 5
    assert set(cut_doc["features"]) == {"bias"}
