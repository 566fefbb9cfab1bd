"""The stored learned model during a rolling upgrade: the doc this release saves is one the
previous release reads, and a model scoring cannot read never fails a lead's scoring. On
SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from scoring_kit import deliver, lead, outcome

from lead_scoring import handlers, learning
from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.models import LeadScore, ModelState
from lead_scoring.settings import ScoringSettings
from leadflow.events import Attribution, Lead, LeadCaptured
from support.apps import build, dispose, runtime

pytestmark = pytest.mark.postgres

# The previous release's doc (format leadflow.learned.bayes-probit.v1): its `_ModelDoc` and
# `_FeatureDoc` forbid any other key, so a key outside these fails its replicas' scoring.
V1_MODEL_KEYS = frozenset({
    "format", "prior_variance", "bias_prior_variance", "beta", "n_outcomes", "n_won",
    "n_rejected", "features",
})  # fmt: skip
V1_FEATURE_KEYS = frozenset({"mean", "variance", "won", "lost", "rejected"})


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url, learn_min_support=2)
    yield a
    await dispose(a)


def cto(n: int) -> Lead:
    return lead(
        email=f"cto{n}@bigco{n}.example.com", job_title="CTO", company_size=400,
        industry="software" if n < 2 else f"rare {n}", country="DE",
        attribution=Attribution(source="webinar"),
    )  # fmt: skip


async def stored(app: FastAPI) -> ModelState:
    async with runtime(app).sessions() as s:
        return (await s.scalars(sa.select(ModelState))).one()


def assert_v1(doc: dict[str, Any]) -> None:
    """The doc validates against the previous release's schema, key by key."""
    assert set(doc) <= V1_MODEL_KEYS
    for name, feature in doc["features"].items():
        assert set(feature) <= V1_FEATURE_KEYS, name


async def test_the_saved_model_is_one_the_previous_release_reads(
    app: FastAPI, database_url: str
) -> None:
    """After learning and after the start-up cut, the doc keeps the v1 keys only; the
    support (each typed value's leads, the minimum) is kept beside it in model_state."""
    leads = [cto(n) for n in range(3)]
    for x, stage in zip(leads, ("won", "lost", "won"), strict=True):
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
        await deliver(app, outcome(x.lead_id, stage))
    learned = await stored(app)
    assert_v1(learned.doc)
    assert "industry=software" in learned.doc["features"]
    assert (learned.leads or {}).get("industry=software") == 2
    raised = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                         learn_min_support=3)  # fmt: skip
    try:
        async with runtime(raised).transaction() as uow:  # its learned-model-cut worker
            assert await learning.cut(uow.session, raised.state.scorer.minimum) is True
        cut = await stored(raised)
    finally:
        await dispose(raised)
    assert_v1(cut.doc)
    assert "industry=software" not in cut.doc["features"]  # 2 leads of 3
    assert (cut.min_support, cut.revision) == (3, learned.revision + 1)
    assert (cut.leads or {}).get("country=de") == 3


async def score_of(app: FastAPI, x: Lead) -> LeadScore | None:
    async with runtime(app).sessions() as s:
        return await s.get(LeadScore, x.lead_id)


async def test_a_model_scoring_cannot_read_never_dead_letters_a_lead(
    app: FastAPI,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Scoring goes on with the model it had (rules only without one) and logs the revision
    once; a verdict fails, so that it never overwrites a model it cannot read."""
    monkeypatch.setattr(handlers, "RECHECK_SECONDS", 0.0)  # see every revision at once
    first = cto(0)
    await deliver(app, LeadCaptured(lead_id=first.lead_id, lead=first))
    await deliver(app, outcome(first.lead_id, "won"))  # revision 1: the model it has
    bad = (await stored(app)).doc
    bad["features"]["bias"]["variance"] = -1.0
    async with runtime(app).transaction() as uow:
        await uow.session.execute(sa.update(ModelState).values(revision=2, doc=bad))
    later = [cto(1), cto(3)]
    with caplog.at_level(logging.ERROR, logger="lead_scoring.learning"):
        for x in later:  # the handler does not raise: the consumer would not dead-letter it
            await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    assert all([await score_of(app, x) for x in later])
    errors = [r for r in caplog.records if "revision 2 cannot be read" in r.getMessage()]
    assert len(errors) == 1
    assert (await app.state.scorer.learned())["n_outcomes"] == 1  # the model it had
    with pytest.raises(ValueError, match="variance"):
        await deliver(app, outcome(later[0].lead_id, "won"))
    assert (await stored(app)).revision == 2  # nothing overwritten
    other = await build(ScoringSettings, build_app, MIGRATIONS, database_url,
                        learn_min_support=2)  # fmt: skip
    try:  # a replica that had no model scores by the rules only
        fresh = cto(4)
        await deliver(other, LeadCaptured(lead_id=fresh.lead_id, lead=fresh))
        row = await score_of(other, fresh)
        shown = await other.state.scorer.learned()
    finally:
        await dispose(other)
    assert row is not None
    assert row.model_version == "rules-default"
    assert shown["n_outcomes"] == 0
