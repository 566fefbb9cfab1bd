"""Every route of every service refuses a missing or wrong token, unless it is listed public.

Routes come from each app's OpenAPI document (and, so that `include_in_schema=False`
cannot hide one, from the app's route table). The public routes are an explicit
allow-list below: a route added later without auth fails this test until someone decides,
here, that it is meant to be public. Secrets handed out once (intake API keys, feedback
sales-tool tokens) must be stored hashed: the plaintext appears nowhere in the database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from feedback.app import MIGRATIONS as FEEDBACK_MIGRATIONS
from feedback.app import build_app as feedback_app
from feedback.auth import SESSION_COOKIE
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
from support.apps import ADMIN, build, client, dispose

# Public on purpose, with the reason. (method, path) exactly as in the OpenAPI document.
EVERY_SERVICE_PUBLIC = {
    ("GET", "/healthz"): "liveness probe",
    ("GET", "/readyz"): "readiness probe",
    ("GET", "/metrics"): "Prometheus scrape (no personal data; network policy guards it)",
}
PUBLIC: dict[str, dict[tuple[str, str], str]] = {
    "marketing-intake": {
        ("POST", "/v1/forms/{form_id}/submissions"): "browsers post forms; no secret (contract)",
        ("OPTIONS", "/v1/forms/{form_id}/submissions"): "CORS preflight",
        ("GET", "/v1/forms/{form_id}/embed"): "the embeddable form a web page loads",
    },
    "lead-scoring": {
        ("GET", "/v1/scores/{lead_id}"): "contract: not admin",
        ("POST", "/v1/scores/preview"): "contract: not admin; nothing stored",
        ("GET", "/v1/scoring/rules"): "contract: only PUT is admin",
        ("GET", "/v1/scoring/model"): "contract: not admin",
    },
    "sales-assignment": {},
    "feedback": {
        ("GET", "/"): "the dashboard: without a valid login cookie, only the login form",
        ("POST", "/login"): "the login form posts the admin token here",
        ("POST", "/logout"): "drops the cookie",
        ("POST", "/v1/integrations/{integration_id}/webhook"): "Standard Webhooks signature",
    },
}
# Served but not in the OpenAPI document.
# /docs/assets/{name}: Swagger UI's files, served by the kernel (no CDN on the dashboard's origin).
HIDDEN_PUBLIC = {"/openapi.json", "/docs", "/docs/assets/{name}"}
HIDDEN_MOUNTS = {"/static"}

WRONG_TOKENS = [
    "wrong-token",
    "dev-test-admin-but-longer",
    "lf_sk_" + "A" * 40,  # looks like an intake API key
    "lf_it_" + "A" * 40,  # looks like a feedback sales-tool token
]
PARAMS = {
    "domain": "acme.example.com",
    "utm_campaign": "q4-launch",
}


@dataclass(frozen=True)
class Service:
    name: str
    settings: type[Any]
    build_app: Callable[[Any], FastAPI]
    migrations: Path


SERVICES = [
    Service("marketing-intake", IntakeSettings, intake_app, INTAKE_MIGRATIONS),
    Service("lead-scoring", ScoringSettings, scoring_app, SCORING_MIGRATIONS),
    Service("sales-assignment", AssignmentSettings, assignment_app, ASSIGNMENT_MIGRATIONS),
    Service("feedback", FeedbackSettings, feedback_app, FEEDBACK_MIGRATIONS),
]


@pytest.fixture(params=SERVICES, ids=[s.name for s in SERVICES])
async def service(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Service, FastAPI, Path]]:
    svc: Service = request.param
    db = tmp_path / f"{svc.name}.db"
    app = await build(svc.settings, svc.build_app, svc.migrations, f"sqlite+aiosqlite:///{db}")
    yield svc, app, db
    await dispose(app)


def served_routes(app: FastAPI) -> list[Any]:
    """Every route the app answers, routers included (FastAPI's own route walk)."""
    return list(iter_route_contexts(app.routes))


def operations(app: FastAPI) -> list[tuple[str, str]]:
    doc = app.openapi()
    return sorted(
        (method.upper(), path)
        for path, ops in doc["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete", "options", "head"}
    )


def concrete(path: str) -> str:
    def fill(m: re.Match[str]) -> str:
        return PARAMS.get(m.group(1), str(uuid.uuid4()))

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", fill, path)


async def test_every_served_route_is_in_the_openapi_document_or_known_hidden(
    service: tuple[Service, FastAPI, Path],
) -> None:
    _, app, _ = service
    documented = set(operations(app))
    for route in served_routes(app):
        path = route.path_format or route.path or ""
        if isinstance(route.original_route, Mount):
            mount = route.original_route.path
            assert mount in HIDDEN_MOUNTS, f"undocumented mount {mount}"
            continue
        methods = (route.methods or set()) - {"HEAD"}
        assert methods, f"route {path} has no methods"
        for method in methods:
            if getattr(route, "include_in_schema", True) and (method, path) in documented:
                continue
            assert path in HIDDEN_PUBLIC, f"{method} {path} is served but not documented"


async def test_the_public_allow_list_names_only_routes_that_exist(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    ops = set(operations(app))
    for key in (*EVERY_SERVICE_PUBLIC, *PUBLIC[svc.name]):
        assert key in ops, f"{svc.name}: allow-listed {key} does not exist (stale list?)"


async def test_every_non_public_route_refuses_a_missing_or_wrong_token(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    public = {**EVERY_SERVICE_PUBLIC, **PUBLIC[svc.name]}
    protected = [op for op in operations(app) if op not in public]
    if svc.name != "lead-scoring":
        assert protected, "expected admin routes"
    failures = []
    async with client(app) as http:
        for method, path in protected:
            url = concrete(path)
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            r = await http.request(method, url, json=body)
            if r.status_code != 401:
                failures.append(f"{method} {path} without token: {r.status_code}")
            elif r.headers.get("content-type", "").split(";")[0] != "application/problem+json":
                failures.append(f"{method} {path}: 401 is not problem+json")
            r = await http.request(
                method, url, json=body, headers={"Cookie": f"{SESSION_COOKIE}=9999999999.forged"}
            )
            if r.status_code != 401:
                failures.append(f"{method} {path} with a forged cookie: {r.status_code}")
            for token in WRONG_TOKENS:
                r = await http.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
                if r.status_code not in (401, 403):
                    failures.append(f"{method} {path} with token {token[:8]}…: {r.status_code}")
            r = await http.request(
                method, url, json=body, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
            )
            if r.status_code not in (401, 403):
                failures.append(f"{method} {path} with Basic auth: {r.status_code}")
    assert not failures, "\n".join(failures)


async def test_public_feedback_routes_give_nothing_away_without_credentials(
    tmp_path: Path,
) -> None:
    svc = SERVICES[3]
    app = await build(
        svc.settings, svc.build_app, svc.migrations, f"sqlite+aiosqlite:///{tmp_path}/f.db"
    )
    try:
        async with client(app) as http:
            page = await http.get("/", headers={"Cookie": f"{SESSION_COOKIE}=9999999999.forged"})
            assert page.status_code == 200
            assert 'name="token"' in page.text  # the login form, not the dashboard
            bad = await http.post("/login", content=b"token=wrong&next=/")
            assert bad.status_code == 401
            assert SESSION_COOKIE not in bad.headers.get("set-cookie", "")
            hook = await http.post(
                f"/v1/integrations/{uuid.uuid4()}/webhook",
                json={"lead_id": str(uuid.uuid4()), "stage": "won"},
                headers={
                    "webhook-id": "msg_1",
                    "webhook-timestamp": "1700000000",
                    "webhook-signature": "v1,Zm9yZ2Vk",
                },
            )
            assert hook.status_code == 401
    finally:
        await dispose(app)


# ---------------------------------------------------------------- secrets stored hashed


def _database_bytes(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


async def test_intake_api_keys_are_stored_hashed(tmp_path: Path) -> None:
    svc = SERVICES[0]
    db = tmp_path / "intake.db"
    app = await build(svc.settings, svc.build_app, svc.migrations, f"sqlite+aiosqlite:///{db}")
    async with client(app) as http:
        r = await http.post("/v1/api-keys", json={"name": "crm"}, headers=ADMIN)
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        assert key.startswith("lf_sk_")
        assert (
            await http.get(
                "/v1/leads/" + str(uuid.uuid4()), headers={"Authorization": f"Bearer {key}"}
            )
        ).status_code == 404  # the key works
        listed = await http.get("/v1/api-keys", headers=ADMIN)
        assert key not in listed.text
    await dispose(app)
    stored = _database_bytes(db)
    secret = key.removeprefix("lf_sk_")
    assert key.encode() not in stored
    assert secret.encode() not in stored
    assert secret[:16].encode() not in stored  # not even most of it
    assert b"dev-test-admin" not in stored


async def test_feedback_integration_tokens_are_stored_hashed(tmp_path: Path) -> None:
    svc = SERVICES[3]
    db = tmp_path / "feedback.db"
    app = await build(svc.settings, svc.build_app, svc.migrations, f"sqlite+aiosqlite:///{db}")
    async with client(app) as http:
        r = await http.post(
            "/v1/integrations", json={"name": "crm", "kind": "token"}, headers=ADMIN
        )
        assert r.status_code == 201, r.text
        token = r.json()["token"]
        assert token.startswith("lf_it_")
        listed = await http.get("/v1/integrations", headers=ADMIN)
        assert token not in listed.text
    await dispose(app)
    stored = _database_bytes(db)
    secret = token.removeprefix("lf_it_")
    assert token.encode() not in stored
    assert secret[:16].encode() not in stored
    assert b"dev-test-admin" not in stored
