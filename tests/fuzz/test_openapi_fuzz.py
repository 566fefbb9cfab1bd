"""schemathesis against all four services' OpenAPI documents: no 5xx, answers as documented.

Each app runs in process over ASGI on a fresh SQLite file, its broker pointed at a closed
port, and its lifespan is not run (support.apps.without_lifespan says why). Calls carry
the admin token; intake's lead API calls an API key. Bounded: `MAX_EXAMPLES` per
operation, so the whole module stays well under a minute and a half.

The probes (`/healthz`, `/readyz`) are left out: they report the runtime's state (no broker
here; a runtime the test client restarted), answering 503 by design.

Checks left out, on purpose:
- `positive_data_acceptance`: domain rules (email syntax, E.164 phones, ISO countries,
  routing rule semantics, …) are stricter than JSON Schema can say, so a schema-valid body
  may get the documented 422 naming its fields.
- `negative_data_rejection`: pydantic's lax mode accepts `0` for a boolean and a number
  for a date-time (Unix time); the services take those, deliberately lenient with input.
- `unsupported_method` on a literal path that shares a template with another route
  (`/v1/reps/import` is also `/v1/reps/{rep_id}`, `/v1/scores/preview` also
  `/v1/scores/{lead_id}`): PATCH/GET there reach the template's route and get its 422 (not
  a UUID) instead of 405.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from feedback.app import MIGRATIONS as FEEDBACK_MIGRATIONS
from feedback.app import build_app as feedback_app
from feedback.settings import FeedbackSettings
from lead_scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from lead_scoring.app import build_app as scoring_app
from lead_scoring.settings import ScoringSettings
from marketing_intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from marketing_intake.app import build_app as intake_app
from marketing_intake.settings import IntakeSettings
from sales_assignment.app import MIGRATIONS as ASSIGNMENT_MIGRATIONS
from sales_assignment.app import build_app as assignment_app
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, build, without_lifespan
from support.infra import closed_port
from support.intake import ORIGIN

MAX_EXAMPLES = 15
KEY: dict[str, str] = {}
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same examples each run: a failure reproduces
)


def _app(
    name: str,
    settings_cls: type[Any],
    factory: Callable[[Any], FastAPI],
    migrations: Path,
    setup: Callable[[httpx.AsyncClient], Any] | None = None,
    **extra: Any,
) -> FastAPI:
    """A service on a fresh SQLite file; built once, when the module loads."""
    db = Path(tempfile.mkdtemp(prefix=f"lf-fuzz-{name}-")) / f"{name}.db"

    async def go() -> FastAPI:
        app = await build(
            settings_cls,
            factory,
            migrations,
            f"sqlite+aiosqlite:///{db}",
            kafka_bootstrap=f"127.0.0.1:{closed_port()}",
            consumer_group=f"fuzz-{name}",
            # The fuzzer sends wrong tokens by the hundred; past the failed-check limit every
            # call would get the (documented) 429 and the routes would go unexercised.
            auth_failures_per_minute=0,
            **extra,
        )
        if setup is not None:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                await setup(http)
        await app.state.runtime.engine.dispose()  # the fuzzer's calls run on another loop
        return app

    return asyncio.run(go())


async def _api_key(http: httpx.AsyncClient) -> None:
    r = await http.post("/v1/api-keys", json={"name": "fuzz"}, headers=ADMIN)
    KEY["Authorization"] = f"Bearer {r.json()['key']}"


def _schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", without_lifespan(app)).exclude(
        path_regex="^/(healthz|readyz)$"
    )


intake = _schema(
    _app(
        "intake",
        IntakeSettings,
        intake_app,
        INTAKE_MIGRATIONS,
        _api_key,
        rate_limit_key_per_second=0,
        rate_limit_form_per_minute=0,
    )
)
scoring = _schema(_app("scoring", ScoringSettings, scoring_app, SCORING_MIGRATIONS))
assignment = _schema(_app("assignment", AssignmentSettings, assignment_app, ASSIGNMENT_MIGRATIONS))
feedback = _schema(_app("feedback", FeedbackSettings, feedback_app, FEEDBACK_MIGRATIONS))


def _headers(case: Any) -> dict[str, str]:
    if case.path.startswith("/v1/leads") and case.method == "POST":
        return {**KEY, "Origin": ORIGIN}
    return {**ADMIN, "Origin": ORIGIN}


SHADOWED_LITERALS = {"/v1/reps/import", "/v1/scores/preview"}


def _check(case: Any) -> None:
    """No 5xx; documented status codes, content types, headers and bodies (see above)."""
    excluded = [
        schemathesis.checks.positive_data_acceptance,
        schemathesis.checks.negative_data_rejection,
    ]
    if case.path in SHADOWED_LITERALS:
        excluded.append(schemathesis.checks.unsupported_method)
    case.call_and_validate(headers=_headers(case), excluded_checks=excluded)


@intake.parametrize()
@FUZZ
def test_marketing_intake_fuzz(case: Any) -> None:
    _check(case)


@scoring.parametrize()
@FUZZ
def test_lead_scoring_fuzz(case: Any) -> None:
    _check(case)


@assignment.parametrize()
@FUZZ
def test_sales_assignment_fuzz(case: Any) -> None:
    _check(case)


@feedback.parametrize()
@FUZZ
def test_feedback_fuzz(case: Any) -> None:
    _check(case)
