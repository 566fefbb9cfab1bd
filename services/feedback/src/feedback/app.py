"""feedback: the one place its objects are built."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from feedback import (
    api,
    api_agreement,
    api_dashboard,
    api_integrations,
    api_lab,
    api_metrics,
    api_sales_ops,
    auth,
    lab_store,
)
from feedback.handlers import BATCH_HANDLERS, HANDLERS
from feedback.retention import purge_journey
from feedback.settings import FeedbackSettings
from leadflow import lab, lab_follower
from leadflow.access import register_resolver
from leadflow.erasure_log import LogEraser
from leadflow.events import TOPICS
from leadflow.ratelimit import TokenBuckets
from leadflow.schedule import every
from leadflow.service import Runtime, create_app

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: FeedbackSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    # Its `leads.outcomes` carry no email, phone or names: tombstones only for the dead
    # letters it wrote.
    eraser = LogEraser(
        runtime.transaction, produces=[], erasure_delay_seconds=settings.erasure_delay_seconds
    )
    runtime.consume(
        sorted(set(TOPICS)),
        eraser.handlers(HANDLERS),
        batch_handlers=eraser.batch_handlers(BATCH_HANDLERS),
    )
    runtime.workers.append(("log-eraser", eraser.run))
    days = settings.journey_retention_days
    purge = every(settings.purge_interval_seconds, lambda: purge_journey(runtime, days))
    runtime.workers.append(("retention", purge))

    # The what-if lab's reports (leadflow/lab.py), simulations and experiments, kept for
    # the lab page.
    async def follow_lab() -> None:
        await lab_follower.follow(
            settings,
            group=lab_follower.lab_group(settings),
            types={lab.REPORTED, lab.EXPERIMENT_REPORTED},
            handle=lambda message: lab_store.handle(runtime, message),
        )

    runtime.workers.append(("lab", follow_lab))
    purge_lab = every(settings.purge_interval_seconds, lambda: lab_store.purge(runtime, days))
    runtime.workers.append(("lab-retention", purge_lab))
    app = create_app(
        runtime,
        title="leadflow feedback",
        description="Folds every lead event into a journey and per-lead facts, takes sales "
        "outcomes (with the admin token, a sales-tool token or a signed webhook; published as "
        "`leads.outcomes` through a transactional outbox), and answers funnel, speed-to-lead, "
        "campaign ROI, lead quality, targeting insights and the marketing–sales agreement, as "
        "JSON, CSV and a dashboard at `/`.",
        routers=[
            api.router,
            api_integrations.router,
            api_metrics.router,
            api_dashboard.router,
            api_sales_ops.router,
            api_lab.router,
            api_agreement.router,
        ],
    )
    register_resolver(app.state, auth.integration_principal)  # `lf_it_` → sales_tool
    app.state.lab_limits = TokenBuckets(
        settings.lab_simulations_per_minute / 60, settings.lab_simulations_burst
    )
    # The dashboard's stylesheet, served from the package: the page needs no internet.
    app.mount("/static", StaticFiles(directory=api_dashboard.STATIC), name="static")
    return app
