"""lead-scoring: the one place its objects are built."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI

from lead_scoring import api, api_simulations, learning
from lead_scoring import lab as scoring_lab
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from lead_scoring.simulations import Simulator
from leadflow import lab, lab_follower
from leadflow.erasure_log import LogEraser
from leadflow.events import LeadCaptured, LeadErased, LeadOutcome, LeadQualified, LeadScored
from leadflow.service import Runtime, create_app

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: ScoringSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    scorer = Scorer(
        runtime,
        timedelta(days=settings.recycle_cooldown_days),
        min_support=settings.learn_min_support,
    )
    # Scoring skips the events of an erased lead, so its tombstones come after its last
    # score of the lead.
    eraser = LogEraser(
        runtime.transaction,
        produces=[LeadScored.topic, LeadQualified.topic],
        erasure_delay_seconds=settings.erasure_delay_seconds,
    )
    runtime.consume(
        [LeadCaptured.topic, LeadOutcome.topic, LeadErased.topic],
        eraser.handlers(scorer.handlers),
        batch_handlers=eraser.batch_handlers(scorer.batch_handlers),
    )
    runtime.workers.append(("log-eraser", eraser.run))
    # The stored model cut to this replica's LEADFLOW_LEARN_MIN_SUPPORT (`learning`).
    runtime.workers.append(
        ("learned-model-cut", lambda: learning.keep_cut(runtime.transaction, scorer.minimum))
    )
    simulator = Simulator(
        runtime,
        min_verdicts=settings.min_verdicts,
        max_running=settings.simulations_max_running,
        min_support=settings.learn_min_support,
    )
    handle = scoring_lab.follower(simulator)

    async def follow_lab() -> None:  # scoring simulations asked for on leadflow.lab
        group = lab_follower.lab_group(settings)
        await lab_follower.follow(settings, group=group, types={lab.REQUESTED}, handle=handle)

    runtime.workers.append(("lab", follow_lab))
    app = create_app(
        runtime,
        title="leadflow lead-scoring",
        description="Scores each captured lead with explainable rules plus what won and lost "
        "outcomes taught it; publishes `leads.scored` and, once per lead, `leads.qualified`.",
        routers=[api.router, api_simulations.router],
    )
    app.state.scorer = scorer
    app.state.simulator = simulator
    return app
