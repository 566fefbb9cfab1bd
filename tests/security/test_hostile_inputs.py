"""Every write route of every service answers hostile values with a 2xx or a 4xx, in time.

Routes come from each app's OpenAPI document (as in test_routes_auth.py), so a route added
later is covered without a change here. For each route, hypothesis puts generated hostile
values — very long strings, deep nesting, unicode (lone surrogates, RTL marks, NUL),
whitespace runs, huge numbers, wrong types — into one field of an otherwise plausible body
(or a path parameter), with the admin token, and the answer must be below 500 and come
within `BUDGET_SECONDS`. Each route has a fixed seed (a failure reproduces) and few examples,
so the module runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from feedback.app import MIGRATIONS as FEEDBACK_MIGRATIONS
from feedback.app import build_app as feedback_app
from feedback.settings import FeedbackSettings
from lead_scoring.app import MIGRATIONS as SCORING_MIGRATIONS
from lead_scoring.app import build_app as scoring_app
from lead_scoring.settings import ScoringSettings
from leadflow import webhooks
from marketing_intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from marketing_intake.app import build_app as intake_app
from marketing_intake.settings import IntakeSettings
from sales_assignment.app import MIGRATIONS as ASSIGNMENT_MIGRATIONS
from sales_assignment.app import build_app as assignment_app
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, build, client, dispose
from support.infra import closed_port
from support.intake import ORIGIN

# A failure's report shows the short `Value` repr; hypothesis warns about the full one.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

BUDGET_SECONDS = 5.0  # per request: generous on a busy 2-core machine; minutes were seen
# Per route; HOSTILE_EXAMPLES=500 for a longer search than the suite's.
MAX_EXAMPLES = int(os.environ.get("HOSTILE_EXAMPLES", "25"))
PATH_CHARS = 1000
WRITE_METHODS = ("post", "put", "patch", "delete")
HOSTILE = "__hostile_value__"  # stands for the raw JSON of the value in a serialised body
LEAD = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "company": "Analytical Engines",
    "job_title": "CTO",
    "company_size": "50-200",
    "country": "GB",
    "website": "example.com",
    "utm_campaign": "q4",
}

# ---------------------------------------------------------------- hostile values


@dataclass(frozen=True)
class Value:
    """A hostile value as raw JSON text, and as the text a form field would carry."""

    json: str
    text: str

    def __repr__(self) -> str:  # what a failure report shows: short
        shown = self.json if len(self.json) <= 80 else f"{self.json[:60]}… ({len(self.json)})"
        return f"Value({shown})"


def _of(value: Any) -> Value:
    return Value(json.dumps(value), value if isinstance(value, str) else json.dumps(value))


def _raw(text: str) -> Value:
    return Value(text, text)


def _deep(depth: int, kind: str) -> Value:
    if kind == "list":
        return _raw("[" * depth + "]" * depth)
    return _raw('{"a":' * depth + "1" + "}" * depth)


_SIZES = st.sampled_from([1_000, 10_000, 100_000, 300_000])
_WHITESPACE = st.sampled_from([" ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\u3000", "\u200b"])
_ODD = [
    "\x00", "a\x00b", "\u202eevil", "\u200f\u05d0\u05d1", "\ud800", "x\udfffy", "\ufeff",
    "e\u0301" * 500, "\U0001f469\u200d\U0001f469\u200d\U0001f467" * 200, "\uffff", "%00",
    "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:x}", "\x1b[31m",
]  # fmt: skip
_PATTERNED = ["1{ws}x", "1{ws}-{ws}x", "a.", "(1-", "1-", "-", "a@", "x@x.", "."]
long_strings = st.builds(
    lambda n, c: _of(c * n), _SIZES, st.sampled_from(["x", "é", "\U0001f600", "9", "."])
)
patterned = st.builds(
    lambda n, p, ws: _of((p.format(ws=ws * n)) if "{ws}" in p else p * n),
    _SIZES,
    st.sampled_from(_PATTERNED),
    _WHITESPACE,
)
whitespace = st.builds(lambda n, ws: _of(ws * n), _SIZES, _WHITESPACE)
unicode = st.one_of(
    st.sampled_from(_ODD).map(_of),
    st.text(st.characters(codec=None, categories=None), min_size=1, max_size=64).map(_of),
)
deep = st.builds(
    _deep, st.sampled_from([64, 1_000, 10_000, 100_000]), st.sampled_from(["list", "dict"])
)
huge_numbers = st.sampled_from(
    ["9" * 5000, "1e999999", "-1e400", "1e-400", str(2**64), str(-(2**63) - 1), "1" + "0" * 30,
     "1.00000000000000000000000001", "-0", "NaN", "Infinity"]
).map(_raw)  # fmt: skip
wrong_types = st.sampled_from(
    [None, True, False, 0, -1, 1.5, [], {}, [1, 2], {"a": 1}, "text", [["x"]], [None] * 1000]
).map(_of)
many_items = st.builds(
    lambda n: _of({f"k{i}": "v" for i in range(n)}), st.sampled_from([100, 5_000, 20_000])
) | st.builds(lambda n: _of(["x"] * n), st.sampled_from([100, 20_000]))
hostile = st.one_of(
    long_strings, patterned, whitespace, unicode, deep, huge_numbers, wrong_types, many_items
)

# ---------------------------------------------------------------- the services


@dataclass
class Target:
    """A built app and what its routes need: path values, a baseline body, credentials."""

    app: FastAPI
    params: dict[str, str] = field(default_factory=dict)
    bodies: dict[tuple[str, str], Any] = field(default_factory=dict)
    headers: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    secret: str = ""  # feedback's webhook integration: its posts are signed


Setup = Callable[[httpx.AsyncClient, Target], Awaitable[None]]


async def _intake(http: httpx.AsyncClient, t: Target) -> None:
    r = await http.post(
        "/v1/forms",
        json={"name": "Contact", "allowed_origins": [ORIGIN], "min_fill_seconds": 0},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    t.params["form_id"] = r.json()["form_id"]
    r = await http.post("/v1/api-keys", json={"name": "hostile"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    key = {"Authorization": f"Bearer {r.json()['key']}"}
    t.headers[("POST", "/v1/leads")] = t.headers[("POST", "/v1/leads/batch")] = key
    t.bodies[("POST", "/v1/leads")] = LEAD
    t.bodies[("POST", "/v1/leads/batch")] = {"leads": [LEAD, LEAD]}
    t.bodies[("POST", "/v1/forms/{form_id}/submissions")] = LEAD
    t.bodies[("POST", "/v1/forms")] = {"name": "Contact", "allowed_origins": [ORIGIN]}
    t.bodies[("PATCH", "/v1/forms/{form_id}")] = {
        "name": "Contact",
        "field_map": {"mail": "email"},
        "required": ["email"],
    }


async def _scoring(http: httpx.AsyncClient, t: Target) -> None:
    r = await http.get("/v1/scoring/rules", headers=ADMIN)
    assert r.status_code == 200, r.text
    t.bodies[("PUT", "/v1/scoring/rules")] = r.json()["rules"]
    t.bodies[("POST", "/v1/scores/preview")] = {**LEAD, "company_size": 120}
    t.bodies[("POST", "/v1/scoring/simulations")] = {
        "from": "2026-01-01",
        "to": "2026-02-01",
        "rules": r.json()["rules"],
        "threshold": 50,
    }


async def _assignment(http: httpx.AsyncClient, t: Target) -> None:
    rep = {"name": "Ann Seller", "email": "ann@seller.example", "territories": ["EMEA"]}
    r = await http.post("/v1/reps", json=rep, headers=ADMIN)
    assert r.status_code == 201, r.text
    t.params["rep_id"] = r.json()["rep_id"]
    t.bodies[("PATCH", "/v1/reps/{rep_id}")] = {
        "name": "Ann",
        "working_hours": {"mon": ["09:00-17:00"]},
    }
    t.bodies[("PUT", "/v1/accounts/{domain}")] = {"rep_id": t.params["rep_id"]}
    t.bodies[("POST", "/v1/webhook-endpoints")] = {"url": "https://hooks.example.com/in"}
    t.bodies[("PATCH", "/v1/webhook-endpoints/{endpoint_id}")] = {"enabled": True}
    t.bodies[("POST", "/v1/reps/import")] = "name,email,territories\nBo,bo@seller.example,EMEA\n"
    t.bodies[("PUT", "/v1/routing/rules")] = {
        "rules": [{"name": "emea", "countries": ["EMEA"], "pool": [t.params["rep_id"]]}]
    }
    rules = [{"name": "emea", "countries": ["EMEA"], "pool": [t.params["rep_id"]]}]
    t.bodies[("POST", "/v1/routing/simulations")] = {
        "from": "2026-01-01",
        "to": "2026-02-01",
        "rules": rules,
        "reps": [
            {"action": "reweight", "rep_id": t.params["rep_id"], "weight": 2},
            {"action": "leave", "rep_id": t.params["rep_id"], "start": "2026-01-05",
             "end": "2026-01-09T17:00:00+01:00"},
            {"action": "add", "name": "Bo", "territories": ["EMEA"], "weight": 1},
        ],
    }  # fmt: skip
    t.bodies[("POST", "/v1/routing/rules/test")] = {
        "rules": rules,
        "cases": [
            {
                "name": "a UK lead goes to EMEA",
                "lead": {"country": "GB", "company_size": 120, "email_domain": "acme.example"},
                "expect": {"rule": "emea", "rep": t.params["rep_id"]},
            }
        ],
    }
    # The starting bodies themselves pass: the hostile variants reach the rule and rep checks.
    for (method, path), status in {
        ("POST", "/v1/routing/simulations"): 202,
        ("POST", "/v1/routing/rules/test"): 200,
    }.items():
        r = await http.request(method, path, json=t.bodies[(method, path)], headers=ADMIN)
        assert r.status_code == status, r.text


async def _feedback(http: httpx.AsyncClient, t: Target) -> None:
    r = await http.post("/v1/integrations", json={"name": "crm", "kind": "webhook"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    t.params["integration_id"] = r.json()["integration_id"]
    t.secret = r.json()["secret"]
    outcome = {"lead_id": str(uuid.uuid4()), "stage": "won", "amount": "10.00", "currency": "EUR"}
    t.bodies[("POST", "/v1/integrations/{integration_id}/webhook")] = outcome
    t.bodies[("POST", "/v1/campaigns/{utm_campaign}/cost")] = {"amount": "10", "currency": "EUR"}
    t.bodies[("PUT", "/v1/campaigns/{utm_campaign}/cost")] = {"amount": "10", "currency": "EUR"}
    t.bodies[("POST", "/login")] = {"token": "wrong", "next": "/"}


@dataclass(frozen=True)
class Service:
    name: str
    settings: type[Any]
    build_app: Callable[[Any], FastAPI]
    migrations: Path
    setup: Setup


SERVICES = [
    Service("marketing-intake", IntakeSettings, intake_app, INTAKE_MIGRATIONS, _intake),
    Service("lead-scoring", ScoringSettings, scoring_app, SCORING_MIGRATIONS, _scoring),
    Service(
        "sales-assignment", AssignmentSettings, assignment_app, ASSIGNMENT_MIGRATIONS, _assignment
    ),
    Service("feedback", FeedbackSettings, feedback_app, FEEDBACK_MIGRATIONS, _feedback),
]
FORM_ROUTES = {("POST", "/login"), ("POST", "/v1/forms/{form_id}/submissions")}
DEFAULT_PARAMS = {"domain": "acme.example.com", "utm_campaign": "q4-launch"}

# ---------------------------------------------------------------- routes, bodies and fields


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    schema: dict[str, Any] | None  # the JSON body's schema, $refs resolved at the top
    content: str  # the body's media type ("" without a body)


def write_routes(app: FastAPI) -> list[Route]:
    doc = app.openapi()
    components = doc.get("components", {}).get("schemas", {})
    routes = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method not in WRITE_METHODS:
                continue
            content = op.get("requestBody", {}).get("content", {})
            kind = next(iter(content), "")
            schema = _resolve(content[kind].get("schema", {}), components) if kind else None
            routes.append(Route(method.upper(), path, schema, kind))
    # Deletions last: they would remove the form, rep or integration the others post to.
    return sorted(routes, key=lambda r: r.method == "DELETE")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    if ref:
        return _resolve(components[ref.rsplit("/", 1)[-1]], components)
    if "anyOf" in schema:  # `X | None`: the non-null branch
        branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return _resolve(branches[0], components) if branches else schema
    return schema


def baseline(route: Route, target: Target) -> Any:
    """A plausible body: the test's own, else the schema's example, else its required fields."""
    key = (route.method, route.path)
    if key in target.bodies:
        return target.bodies[key]
    schema = route.schema or {}
    if examples := schema.get("examples"):
        return examples[0]
    body = {}
    for name in schema.get("required", []):
        prop = schema.get("properties", {}).get(name, {})
        body[name] = _plain(prop)
    return body


def _plain(prop: dict[str, Any]) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("format") == "uuid":
        return str(uuid.uuid4())
    kinds = {"string": "x", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}
    return kinds.get(prop.get("type", "string"), "x")


Path_ = tuple[str | int, ...]


def fields_of(route: Route, body: Any) -> list[Path_]:
    """Where a hostile value goes: each property and nested value, the body itself, a path
    parameter, and a field nobody declared."""
    found: list[Path_] = [("(body)",)]
    names = set((route.schema or {}).get("properties", {}))
    if isinstance(body, dict):
        names |= set(body)
        found.append(("zz_undeclared",))
    for name in sorted(names):
        found.append((name,))
        found += [
            (name, *sub) for sub in _leaves(body.get(name) if isinstance(body, dict) else None)
        ]
    found += [("(path)", p) for p in _path_params(route.path)]
    return found


def _leaves(value: Any, depth: int = 0) -> Iterator[Path_]:
    if depth > 2:
        return
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else []
    )
    for key, item in list(items)[:3]:
        yield (key,)
        yield from ((key, *sub) for sub in _leaves(item, depth + 1))


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def place(body: Any, where: Path_) -> Any:
    """The body with HOSTILE at `where` (a copy)."""
    if where == ("(body)",):
        return HOSTILE
    copy = json.loads(json.dumps(body))
    node = copy
    for key in where[:-1]:
        node = node[key]
    if (isinstance(node, list) and isinstance(where[-1], int)) or isinstance(node, dict):
        node[where[-1]] = HOSTILE
    return copy


# ---------------------------------------------------------------- requests


def request_for(
    route: Route, target: Target, where: Path_, value: Value
) -> tuple[str, bytes, dict[str, str]]:
    """The URL, the body's bytes and the headers of one hostile request."""
    params = {**DEFAULT_PARAMS, **target.params}
    url = route.path
    for name in _path_params(route.path):
        # A path segment past a few KB is refused by the HTTP server (and by httpx) first.
        hostile_text = value.text[:PATH_CHARS]
        given = hostile_text if where == ("(path)", name) else params.get(name, str(uuid.uuid4()))
        url = url.replace("{" + name + "}", quote(given.encode("utf-8", "surrogatepass"), safe=""))
    headers = {**target.headers.get((route.method, route.path), ADMIN), "Origin": ORIGIN}
    headers["Accept"] = "application/json"
    body = baseline(route, target)
    key = (route.method, route.path)
    if key in FORM_ROUTES:
        placed = place(body, where) if where[0] != "(path)" else body
        content = _form(placed, value)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif route.content == "text/csv":
        text = value.text if where == ("(body)",) else f"name,email\n{value.text},a@b.example\n"
        content = text.encode("utf-8", "surrogatepass") if where[0] != "(path)" else body.encode()
        headers["Content-Type"] = "text/csv"
    elif route.content or (route.method in ("POST", "PUT", "PATCH") and key in target.bodies):
        placed = place(body, where) if where[0] != "(path)" else body
        content = (
            json.dumps(placed)
            .replace(json.dumps(HOSTILE), value.json)
            .encode("utf-8", "surrogatepass")
        )
        headers["Content-Type"] = "application/json"
    else:
        content = b""
    if key == ("POST", "/v1/integrations/{integration_id}/webhook"):
        headers.update(webhooks.headers_for([target.secret], f"msg_{uuid.uuid4()}", content))
    return url, content, headers


def _form(placed: Any, value: Value) -> bytes:
    if not isinstance(placed, dict):
        return quote(value.text.encode("utf-8", "surrogatepass"), safe="=&").encode()
    pairs = []
    for k, v in placed.items():
        text = value.text if v == HOSTILE else v if isinstance(v, str) else json.dumps(v)
        pairs.append(
            quote(str(k).encode("utf-8", "surrogatepass"))
            + "="
            + quote(text.encode("utf-8", "surrogatepass"))
        )
    return "&".join(pairs).encode()


# ---------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop of the module's own: hypothesis drives sync tests; each request runs on it."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(params=SERVICES, ids=[s.name for s in SERVICES])
def target(
    request: pytest.FixtureRequest, tmp_path: Path, loop: asyncio.AbstractEventLoop
) -> Iterator[Target]:
    svc: Service = request.param

    async def up() -> Target:
        app = await build(
            svc.settings,
            svc.build_app,
            svc.migrations,
            f"sqlite+aiosqlite:///{tmp_path}/{svc.name}.db",
            kafka_bootstrap=f"127.0.0.1:{closed_port()}",
            rate_limit_form_per_minute=0,
            rate_limit_key_per_second=0,
        )
        t = Target(app)
        async with client(app) as http:
            await svc.setup(http, t)
        return t

    built = loop.run_until_complete(up())
    yield built
    loop.run_until_complete(dispose(built.app))


def test_every_write_route_answers_hostile_values_with_a_2xx_or_4xx_in_time(
    target: Target, loop: asyncio.AbstractEventLoop
) -> None:
    routes = write_routes(target.app)
    assert routes, "expected write routes"
    failures: list[str] = []
    http = client(target.app)
    for route in routes:
        try:
            _hostile_run(route, target, loop, http)()
        except AssertionError as exc:
            failures.append(f"{route.method} {route.path}: {str(exc).splitlines()[0]}")
    loop.run_until_complete(http.aclose())
    assert not failures, "\n".join(failures)


def _hostile_run(
    route: Route, target: Target, loop: asyncio.AbstractEventLoop, http: httpx.AsyncClient
) -> Callable[[], None]:
    """One route's property: hostile values at each of its fields, answered below 500 in time.

    Besides the generated ones, every route always gets the shapes that once broke a service:
    a body nested 100,000 deep, a whitespace run and a lone surrogate in each top-level field.
    """
    places = fields_of(route, baseline(route, target))

    def run(where: Path_, value: Value) -> None:
        url, content, headers = request_for(route, target, where, value)
        started = time.perf_counter()
        try:
            r = loop.run_until_complete(
                http.request(route.method, url, content=content, headers=headers)
            )
        except Exception as exc:  # the app raised past its handlers: a 500 with a traceback
            raise AssertionError(f"raised {exc!r} at {where} = {value!r}") from exc
        took = time.perf_counter() - started
        assert r.status_code < 500, f"{r.status_code} at {where} = {value!r}: {r.text[:300]}"
        assert took < BUDGET_SECONDS, f"{took:.1f} s at {where} = {value!r}"

    prop = given(where=st.sampled_from(places), value=hostile)(run)
    known = [(("(body)",), _deep(100_000, "list")), (("(body)",), _deep(100_000, "dict"))]
    known += [(w, _of("1" + " " * 20_000 + "x")) for w in places if len(w) == 1]
    known += [(w, _of("\ud800")) for w in places if len(w) == 1 and w != ("(body)",)]
    for where, value in known:
        prop = example(where=where, value=value)(prop)
    prop = settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the report names field, value
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )(prop)
    # Each route its own values, the same every run: a failure reproduces.
    return seed(zlib.crc32(f"{route.method} {route.path}".encode()))(prop)
