"""feedback: the one place its objects are built."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from feedback import api
from feedback.handlers import HANDLERS
from feedback.settings import FeedbackSettings
from leadflow.events import TOPICS
from leadflow.service import Runtime, create_app

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: FeedbackSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    runtime.consume(sorted(set(TOPICS)), HANDLERS)
    return create_app(
        runtime,
        title="leadflow feedback",
        description="Folds every lead event into a journey and per-lead facts, takes sales "
        "outcomes (published as `leads.outcomes` through a transactional outbox), and "
        "answers funnel, speed-to-lead and campaign ROI metrics.",
        routers=[api.router],
    )
