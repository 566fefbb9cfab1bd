"""/readyz (contract "HTTP"): intake and feedback stay ready without Kafka, naming it degraded;
every service is unready without its database; scoring and assignment need Kafka too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import feedback.app
import lead_scoring.app
import marketing_intake.app
import sales_assignment.app
from feedback.settings import FeedbackSettings
from lead_scoring.settings import ScoringSettings
from marketing_intake.settings import IntakeSettings
from sales_assignment.settings import AssignmentSettings
from support.apps import build, client, dispose, runtime
from support.infra import closed_port

pytestmark = pytest.mark.postgres

Service = tuple[type[Any], Callable[[Any], FastAPI], Path]
INTAKE: Service = (IntakeSettings, marketing_intake.app.build_app, marketing_intake.app.MIGRATIONS)
FEEDBACK: Service = (FeedbackSettings, feedback.app.build_app, feedback.app.MIGRATIONS)
SCORING: Service = (ScoringSettings, lead_scoring.app.build_app, lead_scoring.app.MIGRATIONS)
ASSIGNMENT: Service = (
    AssignmentSettings,
    sales_assignment.app.build_app,
    sales_assignment.app.MIGRATIONS,
)
NO_KAFKA = f"127.0.0.1:{closed_port()}"


@pytest.mark.parametrize("service", [INTAKE, FEEDBACK], ids=["intake", "feedback"])
async def test_a_service_with_an_outbox_stays_ready_without_kafka_and_names_it_degraded(
    pg_url: str, service: Service
) -> None:
    settings_cls, build_app, migrations = service
    app = await build(settings_cls, build_app, migrations, pg_url, kafka_bootstrap=NO_KAFKA)
    r = await _readyz(app)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "degraded"
    assert body["degraded"] == ["kafka"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["kafka"].startswith("unavailable")


@pytest.mark.parametrize("service", [SCORING, ASSIGNMENT], ids=["scoring", "assignment"])
async def test_a_service_that_consumes_to_do_its_job_is_not_ready_without_kafka(
    pg_url: str, service: Service
) -> None:
    settings_cls, build_app, migrations = service
    app = await build(settings_cls, build_app, migrations, pg_url, kafka_bootstrap=NO_KAFKA)
    r = await _readyz(app)
    assert r.status_code == 503
    assert r.json()["checks"]["kafka"].startswith("unavailable")


@pytest.mark.parametrize(
    "service",
    [INTAKE, FEEDBACK, SCORING, ASSIGNMENT],
    ids=["intake", "feedback", "scoring", "assignment"],
)
async def test_a_service_whose_database_is_away_is_not_ready(
    kafka_bootstrap: str, service: Service
) -> None:
    settings_cls, build_app, _ = service
    away = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/gone"
    app = build_app(
        settings_cls(
            admin_token="dev-test-admin", database_url=away, kafka_bootstrap=kafka_bootstrap
        )
    )
    r = await _readyz(app)
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["checks"]["database"].startswith("unavailable")
    assert "database" in problem["detail"]


async def test_a_ready_service_says_so(pg_url: str, kafka_bootstrap: str) -> None:
    settings_cls, build_app, migrations = INTAKE
    app = await build(settings_cls, build_app, migrations, pg_url, kafka_bootstrap=kafka_bootstrap)
    r = await _readyz(app)
    assert r.status_code == 200
    checks = {"database": "ok", "tokens": "ok", "kafka": "ok"}  # tokens: revocations read
    assert r.json() == {"status": "ready", "checks": checks}


async def _readyz(app: FastAPI) -> httpx.Response:
    """GET /readyz once, then stop the app's producer and dispose of its engine."""
    try:
        async with client(app) as http:
            return await http.get("/readyz")
    finally:
        await runtime(app).producer.stop()
        await dispose(app)
