"""marketing-intake: the one place its objects are built."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from leadflow.erasure_log import LogEraser
from leadflow.events import TOPICS, LeadCaptured, LeadErased, dlq_topic
from leadflow.ratelimit import TokenBuckets
from leadflow.schedule import every
from leadflow.service import Runtime, create_app
from marketing_intake import api_forms, api_keys, api_leads, api_submit
from marketing_intake.deps import Limits
from marketing_intake.handlers_erasure import HANDLERS
from marketing_intake.retention import purge_idempotency
from marketing_intake.settings import IntakeSettings

MIGRATIONS = Path(__file__).with_name("migrations")


def build_app(settings: IntakeSettings) -> FastAPI:
    runtime = Runtime.build(settings)
    # The lead's own key on every DLQ too: dead letters written before each had a key of
    # its own were keyed by the lead (compaction keeps the last of them).
    eraser = LogEraser(
        runtime.transaction,
        produces=[LeadCaptured.topic, *(dlq_topic(t) for t in TOPICS)],
        erasure_delay_seconds=settings.erasure_delay_seconds,
    )
    runtime.consume([LeadErased.topic], eraser.handlers(HANDLERS))
    runtime.workers.append(("log-eraser", eraser.run))
    app = create_app(
        runtime,
        title="leadflow marketing-intake",
        description="Takes leads from web forms and the lead API, validates and normalises "
        "them, and publishes `leads.captured` through a transactional outbox. Rate limits "
        "are kept per replica.",
        # The lead API first: the router tries routes in order, and it takes the most calls.
        routers=[api_leads.router, api_submit.router, api_keys.router, api_forms.router],
    )
    app.state.limits = Limits(
        key=TokenBuckets(settings.rate_limit_key_per_second, settings.rate_limit_key_burst),
        form=TokenBuckets(settings.rate_limit_form_per_minute / 60, settings.rate_limit_form_burst),
    )
    purge = every(settings.idempotency_purge_seconds, partial(purge_idempotency, runtime))
    runtime.workers.append(("idempotency-purge", purge))
    return app
