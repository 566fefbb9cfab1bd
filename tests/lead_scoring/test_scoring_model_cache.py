"""The learned model this replica caches changes only with a committed outcome."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from lead_scoring import learning, repo
from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import Envelope, Lead, LeadCaptured, LeadOutcome
from support.apps import build, dispose, runtime


class RolledBack(Exception):
    """Raised inside the transaction to roll it back, as a failing handler would."""


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url)
    yield a
    await dispose(a)


def won(lead_id: uuid.UUID) -> Envelope:
    data = LeadOutcome(lead_id=lead_id, stage="won", occurred_at=datetime.now(UTC))
    return Envelope(data=data, source="/t")


async def scored_lead(app: FastAPI) -> uuid.UUID:
    scorer: Scorer = app.state.scorer
    lead = Lead(lead_id=uuid.uuid4(), email="cto@bigco.example.com", captured_at=datetime.now(UTC))
    async with runtime(app).transaction() as uow:
        await scorer.on_lead_captured(
            uow, Envelope(data=LeadCaptured(lead_id=lead.lead_id, lead=lead), source="/t")
        )
    return lead.lead_id


async def outcome_then_failure(app: FastAPI, lead_id: uuid.UUID) -> None:
    """The outcome handled, then something else in its transaction fails."""
    async with runtime(app).transaction() as uow:
        await app.state.scorer.on_lead_outcome(uow, won(lead_id))
        raise RolledBack


async def test_an_outcome_rolled_back_never_reaches_the_cached_model(app: FastAPI) -> None:
    scorer: Scorer = app.state.scorer
    lead_id = await scored_lead(app)
    async with runtime(app).sessions() as s:
        assert await scorer.model(s) is None  # checked now: cached for RECHECK_SECONDS
    with pytest.raises(RolledBack):
        await outcome_then_failure(app, lead_id)
    async with runtime(app).sessions() as s:
        assert await scorer.model(s) is None  # the outcome never happened


async def test_a_committed_outcome_is_in_the_cached_model_at_once(app: FastAPI) -> None:
    scorer: Scorer = app.state.scorer
    lead_id = await scored_lead(app)
    async with runtime(app).sessions() as s:
        assert await scorer.model(s) is None
    async with runtime(app).transaction() as uow:
        s = uow.session
        await scorer.on_lead_outcome(uow, won(lead_id))
    async with runtime(app).sessions() as s:
        model = await scorer.model(s)
    assert model is not None
    assert model.n_outcomes == 1


def verdict(lead_id: uuid.UUID, stage: str) -> Envelope:
    data = LeadOutcome(lead_id=lead_id, stage=stage, occurred_at=datetime.now(UTC))
    return Envelope(data=data, source="/t")


async def test_a_verdict_after_scoring_in_one_poll_learns_on_another_replicas_model(
    pg_url: str,
) -> None:
    # One poll, one transaction: scoring reads the model unlocked (Scorer.model), another
    # replica then commits a verdict, and this poll's verdict re-reads the model locked.
    app = await build(ScoringSettings, build_app, MIGRATIONS, pg_url)
    try:
        first, second, third = [await scored_lead(app) for _ in range(3)]
        other: Scorer = app.state.scorer
        async with runtime(app).transaction() as uow:
            await other.on_lead_outcome(uow, verdict(first, "won"))  # revision 1
        replica = Scorer(runtime(app))
        async with runtime(app).transaction() as poll:
            assert await replica.model(poll.session) is not None  # loads revision 1 unlocked
            # ... and while anything of this transaction still holds that row's object, the
            # session's identity map hands it back to a later load as it was then.
            held = await repo.load_model(poll.session)
            assert held is not None
            assert held.revision == 1
            async with runtime(app).transaction() as uow:
                await other.on_lead_outcome(uow, verdict(second, "lost"))  # revision 2
            await replica.on_lead_outcome(poll, verdict(third, "won"))
        async with runtime(app).sessions() as s:
            state = await repo.load_model(s)
        assert state is not None
        assert state.revision == 3  # not a second revision 2 over the other replica's
        model = learning.stored(state)
        assert (model.n_outcomes, model.n_won) == (3, 2)  # the other replica's verdict kept
        async with runtime(app).sessions() as s:
            cached = await replica.model(s)  # the one it saved, checked within RECHECK_SECONDS
        assert cached is not None
        assert cached.n_outcomes == 3
    finally:
        await dispose(app)
