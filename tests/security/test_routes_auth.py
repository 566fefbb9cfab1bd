"""Every route of every service, with the roles it admits: checked with a real token of each role.

Routes come from each app's OpenAPI document (and, so that `include_in_schema=False`
cannot hide one, from the app's route table). Each is either public (an explicit
allow-list, with the reason) or in the role table below: a route added later fails this test
until someone decides, here, who may call it. For every route of the table and every role,
a token minted with `POST /v1/tokens` is admitted (not 401/403) or refused (403) as the table
says; no token is 401; an unknown token is 401; the route's OpenAPI description names
exactly the admitted roles (`roles_text`). Secrets handed out once (intake API keys, feedback
sales-tool tokens) must be stored hashed: the plaintext appears nowhere in the database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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
from leadflow.access import ROLES, Role, roles_text
from marketing_intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from marketing_intake.app import build_app as intake_app
from marketing_intake.deps import KEY_CREDENTIAL
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
    "lead-scoring": {},
    "sales-assignment": {},
    "feedback": {
        ("GET", "/"): "the dashboard: without a valid login cookie, only the login form",
        ("GET", "/sales-ops"): "the sales-ops page: without a valid login cookie, the login form",
        ("GET", "/lab"): "the what-if lab page: without a valid login cookie, the login form",
        ("GET", "/lab/simulations/{ref}"): "a lab report: without a login, the form",
        ("POST", "/lab/simulations/{ref}"): "the lab's forms: without a login, back to /lab",
        ("POST", "/login"): "the login form posts an analyst or admin token here",
        ("POST", "/logout"): "ends the session",
        ("POST", "/v1/integrations/{integration_id}/webhook"): "Standard Webhooks signature",
    },
}

# The roles each route admits (admin always). KEY: an intake `lf_sk_` key, no role token.
ADMIN_ONLY: tuple[Role, ...] = ("admin",)
READERS: tuple[Role, ...] = ("admin", "analyst")
KEY = "key"
Admits = tuple[Role, ...] | str
EVERY_SERVICE_ROLES: dict[tuple[str, str], Admits] = {
    ("POST", "/v1/tokens"): ADMIN_ONLY,
    ("GET", "/v1/tokens"): ADMIN_ONLY,
    ("DELETE", "/v1/tokens"): ADMIN_ONLY,
    ("DELETE", "/v1/tokens/{token_id}"): ADMIN_ONLY,
}
ROLE_TABLE: dict[str, dict[tuple[str, str], Admits]] = {
    "marketing-intake": {
        ("POST", "/v1/leads"): KEY,
        ("POST", "/v1/leads/batch"): KEY,
        ("GET", "/v1/leads/{lead_id}"): ADMIN_ONLY,  # or the key that captured it
        ("DELETE", "/v1/leads/{lead_id}"): ADMIN_ONLY,
        ("GET", "/v1/api-keys"): ADMIN_ONLY,
        ("POST", "/v1/api-keys"): ADMIN_ONLY,
        ("DELETE", "/v1/api-keys/{key_id}"): ADMIN_ONLY,
        ("GET", "/v1/forms"): ADMIN_ONLY,
        ("POST", "/v1/forms"): ADMIN_ONLY,
        ("GET", "/v1/forms/{form_id}"): ADMIN_ONLY,
        ("PATCH", "/v1/forms/{form_id}"): ADMIN_ONLY,
        ("DELETE", "/v1/forms/{form_id}"): ADMIN_ONLY,
    },
    "lead-scoring": {
        ("GET", "/v1/scores/{lead_id}"): READERS,
        ("POST", "/v1/scores/preview"): READERS,
        ("GET", "/v1/scoring/rules"): READERS,
        ("PUT", "/v1/scoring/rules"): ADMIN_ONLY,
        ("GET", "/v1/scoring/model"): READERS,
        ("POST", "/v1/scoring/simulations"): READERS,
    },
    "sales-assignment": {
        ("GET", "/v1/reps"): READERS,
        ("POST", "/v1/reps"): ADMIN_ONLY,
        ("POST", "/v1/reps/import"): ADMIN_ONLY,
        ("GET", "/v1/reps/{rep_id}"): READERS,
        ("PATCH", "/v1/reps/{rep_id}"): ADMIN_ONLY,
        ("DELETE", "/v1/reps/{rep_id}"): ADMIN_ONLY,
        ("GET", "/v1/assignments/{lead_id}"): ("admin", "analyst", "sales_tool", "rep"),
        ("POST", "/v1/assignments/{lead_id}/accept"): ("admin", "sales_tool", "rep"),
        ("POST", "/v1/assignments/{lead_id}/decline"): ("admin", "sales_tool", "rep"),
        ("GET", "/v1/routing/rules"): READERS,
        ("PUT", "/v1/routing/rules"): ADMIN_ONLY,
        ("GET", "/v1/routing/rules/history"): READERS,
        ("POST", "/v1/routing/rules/test"): READERS,
        ("GET", "/v1/routing/fairness"): READERS,
        ("POST", "/v1/routing/simulations"): READERS,
        ("GET", "/v1/routing/simulations/{simulation_id}"): READERS,
        ("POST", "/v1/routing/experiments"): ADMIN_ONLY,
        ("GET", "/v1/routing/experiments"): READERS,
        ("GET", "/v1/routing/experiments/{experiment_id}"): READERS,
        ("POST", "/v1/routing/experiments/{experiment_id}/end"): ADMIN_ONLY,
        ("GET", "/v1/accounts"): READERS,
        ("PUT", "/v1/accounts/{domain}"): ADMIN_ONLY,
        ("DELETE", "/v1/accounts/{domain}"): ADMIN_ONLY,
        ("GET", "/v1/webhook-endpoints"): ADMIN_ONLY,
        ("POST", "/v1/webhook-endpoints"): ADMIN_ONLY,
        ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): ADMIN_ONLY,
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): ADMIN_ONLY,
        ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): ADMIN_ONLY,
        ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry"): ADMIN_ONLY,
    },
    "feedback": {
        ("POST", "/v1/outcomes"): ("admin", "sales_tool", "rep"),
        ("PUT", "/v1/campaigns/{utm_campaign}/cost"): ADMIN_ONLY,
        ("GET", "/v1/leads/{lead_id}/journey"): READERS,
        ("GET", "/v1/integrations"): ADMIN_ONLY,
        ("POST", "/v1/integrations"): ADMIN_ONLY,
        ("DELETE", "/v1/integrations/{integration_id}"): ADMIN_ONLY,
        ("GET", "/v1/metrics/funnel"): READERS,
        ("GET", "/v1/metrics/funnel.csv"): READERS,
        ("GET", "/v1/insights/segments"): READERS,
        ("GET", "/v1/agreement"): READERS,
        ("GET", "/v1/agreement/status"): READERS,
        ("PUT", "/v1/agreement"): ADMIN_ONLY,
    },
}
# Served but not in the OpenAPI document.
# /docs/assets/{name}: Swagger UI's files, served by the kernel (no CDN on the dashboard's origin).
HIDDEN_PUBLIC = {"/openapi.json", "/docs", "/docs/assets/{name}"}
HIDDEN_MOUNTS = {"/static"}

WRONG_TOKENS = [
    "wrong-token",
    "dev-test-admin-but-longer",
    "lf_at_" + "A" * 40 + "." + "B" * 43,  # looks like an issued access token
    "lf_sk_" + "A" * 40,  # looks like an intake API key
    "lf_it_" + "A" * 40,  # looks like a feedback sales-tool token
    "eyJhbGciOiJub25lIn0.eyJsZWFkZmxvd19yb2xlIjoiYWRtaW4ifQ.",  # an unsigned JWT
]
PARAMS = {
    "domain": "acme.example.com",
    "utm_campaign": "q4-launch",
    "token_id": "tok_" + "0" * 24,
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
    # No brute-force limit here: this test sends hundreds of wrong tokens on purpose.
    app = await build(
        svc.settings,
        svc.build_app,
        svc.migrations,
        f"sqlite+aiosqlite:///{db}",
        auth_failures_per_minute=0,
    )
    yield svc, app, db
    await dispose(app)


def table(svc: Service) -> dict[tuple[str, str], Admits]:
    return {**EVERY_SERVICE_ROLES, **ROLE_TABLE[svc.name]}


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


async def test_every_documented_route_is_public_or_in_the_role_table(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    public = {**EVERY_SERVICE_PUBLIC, **PUBLIC[svc.name]}
    listed = set(public) | set(table(svc))
    ops = set(operations(app))
    assert not set(public) & set(table(svc)), "a route is both public and in the role table"
    assert ops - listed == set(), f"{svc.name}: routes nobody decided about"
    assert listed - ops == set(), f"{svc.name}: listed routes that do not exist (stale?)"


async def test_each_route_describes_exactly_the_roles_it_admits(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    doc = app.openapi()
    failures = []
    for (method, path), admits in table(svc).items():
        description = doc["paths"][path][method.lower()].get("description", "")
        if admits == KEY:
            if KEY_CREDENTIAL not in description or "Roles:" in description:
                failures.append(f"{method} {path}: {description!r}")
            continue
        assert isinstance(admits, tuple)
        if roles_text(*admits) not in description or description.count("Roles:") != 1:
            failures.append(f"{method} {path}: {description[-80:]!r} ≠ {roles_text(*admits)}")
    assert not failures, "\n".join(failures)


async def role_tokens(http: httpx.AsyncClient) -> dict[Role, dict[str, str]]:
    """A real token of each role, minted by this service's own `POST /v1/tokens`."""
    tokens: dict[Role, dict[str, str]] = {}
    for role in ROLES:
        subject = str(uuid.uuid4()) if role in ("rep", "sales_tool") else None
        r = await http.post("/v1/tokens", json={"role": role, "subject": subject}, headers=ADMIN)
        assert r.status_code == 201, r.text
        tokens[role] = {"Authorization": f"Bearer {r.json()['token']}"}
    return tokens


async def test_each_role_is_admitted_or_refused_as_the_table_says(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    failures = []
    async with client(app) as http:
        tokens = await role_tokens(http)
        for (method, path), admits in sorted(table(svc).items()):
            url = concrete(path)
            body = {} if method in {"POST", "PUT", "PATCH"} else None
            for role, headers in tokens.items():
                r = await http.request(method, url, json=body, headers=headers)
                if admits == KEY:
                    expected_ok = False
                    refused = (401,)  # a role token is no intake key
                else:
                    expected_ok = role in admits
                    refused = (403,)
                if expected_ok and r.status_code in (401, 403):
                    failures.append(f"{method} {path} as {role}: {r.status_code}, admitted")
                if not expected_ok and r.status_code not in refused:
                    failures.append(f"{method} {path} as {role}: {r.status_code}, not {refused}")
                if r.status_code == 403:
                    assert r.headers["content-type"] == "application/problem+json"
            r = await http.request(method, url, json=body)
            if r.status_code != 401:
                failures.append(f"{method} {path} without a token: {r.status_code}")
            elif r.headers.get("www-authenticate") != "Bearer":
                failures.append(f"{method} {path}: 401 without WWW-Authenticate: Bearer")
    assert not failures, "\n".join(failures)


async def test_every_non_public_route_refuses_a_missing_or_wrong_token(
    service: tuple[Service, FastAPI, Path],
) -> None:
    svc, app, _ = service
    failures = []
    async with client(app) as http:
        for method, path in sorted(table(svc)):
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
                if r.status_code != 401:  # unknown: 401, never 403 (contract)
                    failures.append(f"{method} {path} with token {token[:8]}…: {r.status_code}")
            r = await http.request(
                method, url, json=body, headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
            )
            if r.status_code != 401:
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
