"""marketing-intake: the one place its objects are built."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from leadflow.events import LeadErased
from leadflow.service import Runtime, create_app
from marketing_intake import api
from marketing_intake.handlers import HANDLERS
from marketing_intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: IntakeSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    runtime.consume([LeadErased.topic], HANDLERS)
    return create_app(
        runtime,
        title="leadflow marketing-intake",
        description="Takes leads from web forms and the lead API, validates and normalises "
        "them, and publishes `leads.captured` through a transactional outbox.",
        routers=[api.router],
    )
