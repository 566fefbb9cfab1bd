"""lead-scoring: the one place its objects are built."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from lead_scoring import api
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import LeadCaptured, LeadErased, LeadOutcome
from leadflow.service import Runtime, create_app

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: ScoringSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    scorer = Scorer(runtime)
    runtime.consume(
        [LeadCaptured.topic, LeadOutcome.topic, LeadErased.topic],
        scorer.handlers,
        batch_handlers=scorer.batch_handlers,
    )
    app = create_app(
        runtime,
        title="leadflow lead-scoring",
        description="Scores each captured lead with explainable rules plus what won and lost "
        "outcomes taught it; publishes `leads.scored` and, once per lead, `leads.qualified`.",
        routers=[api.router],
    )
    app.state.scorer = scorer
    return app
