"""POST /v1/leads is a typed FastAPI route: what it answers to each kind of request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import build, client, dispose
from support.intake import api_key

JSON = {"content-type": "application/json"}
VALID = b'{"email": "ada@example.com", "company_size": 5}'


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = await build(IntakeSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/i.db")
    async with client(app) as c:
        yield c
    await dispose(app)


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/vnd.lead+json"],
)
async def test_a_json_body_of_any_json_media_type_is_accepted(
    http: httpx.AsyncClient, content_type: str
) -> None:
    key = await api_key(http)
    r = await http.post("/v1/leads", content=VALID, headers={**key, "content-type": content_type})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "accepted"
    assert r.json()["duplicate"] is False


CASES: list[tuple[str, dict[str, str], bytes, set[str]]] = [
    ("not json", JSON, b"{nope", {"body"}),
    ("no content type", {}, VALID, {"body"}),
    ("a text body", {"content-type": "text/plain"}, VALID, {"body"}),
    ("empty", JSON, b"", {"body"}),
    ("a list", JSON, b"[1]", {"body"}),
    ("missing field", JSON, b"{}", {"email"}),
    ("wrong types", JSON, b'{"email": 1, "first_name": []}', {"email", "first_name"}),
    ("nested", JSON, b'{"email": "a@b.co", "consent": {"x": 1}}', {"consent.x"}),
    ("long header and body", {**JSON, "idempotency-key": "k" * 201}, b'{"email": 2}',
     {"idempotency-key", "email"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "headers", "body", "fields"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_request_is_one_problem_naming_each_field(
    http: httpx.AsyncClient, case: str, headers: dict[str, str], body: bytes, fields: set[str]
) -> None:
    key = await api_key(http)
    r = await http.post("/v1/leads", content=body, headers={**key, **headers})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == fields, case


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic YTpi", "Bearer ", "bearer"],
    ids=["none", "basic", "empty", "bare"],
)
async def test_no_bearer_token_is_a_401_before_the_body_is_judged(
    http: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {**JSON, **({"authorization": authorization} if authorization else {})}
    for body in (VALID, b"{}", b""):
        r = await http.post("/v1/leads", content=body, headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.headers["content-type"] == "application/problem+json"
