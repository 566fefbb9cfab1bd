"""Hostile bodies on intake's public and key routes get a 4xx naming what is wrong, never 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import build, client, dispose
from support.intake import ORIGIN, api_key, new_form

DEPTH = 100_000
DEEP_OBJECT = '{"a":' * DEPTH + "1" + "}" * DEPTH
DEEP_ARRAY = "[" * DEPTH + "]" * DEPTH
DEEP_BODIES = {
    "arrays": DEEP_ARRAY,
    "objects": DEEP_OBJECT,
    "custom-objects": '{"email":"ada@example.com","custom":' + DEEP_OBJECT + "}",
    "lists-in-a-field": '{"email":"ada@example.com","notes":' + DEEP_ARRAY + "}",
}
JSON = {"Content-Type": "application/json", "Origin": ORIGIN}


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = await build(
        IntakeSettings,
        build_app,
        MIGRATIONS,
        f"sqlite+aiosqlite:///{tmp_path}/i.db",
        rate_limit_form_per_minute=0,
        rate_limit_key_per_second=0,
    )
    async with client(app) as c:
        yield c
    await dispose(app)


def problem_fields(r: httpx.Response) -> set[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in r.json()["errors"]}


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
async def test_a_deeply_nested_json_form_post_is_a_422(http: httpx.AsyncClient, shape: str) -> None:
    form = await new_form(http)
    r = await http.post(form["submit_url"], content=DEEP_BODIES[shape], headers=JSON)
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("shape", list(DEEP_BODIES))
async def test_a_deeply_nested_lead_is_a_422(http: httpx.AsyncClient, shape: str) -> None:
    key = await api_key(http)
    r = await http.post("/v1/leads", content=DEEP_BODIES[shape], headers={**JSON, **key})
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_form_post_with_thousands_of_extra_fields_is_one_error(
    http: httpx.AsyncClient,
) -> None:
    form = await new_form(http)
    body = {"email": "ada@example.com", **{"x" * 70 + str(i): "v" for i in range(5000)}}
    r = await http.post(form["submit_url"], json=body, headers={"Origin": ORIGIN})
    assert problem_fields(r) == {"custom"}
    assert len(r.content) < 2000


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "a" * 250 + "@example.com"),
        ("first_name", "A" * 101),
        ("job_title", "A" * 151),
        ("company_size", "1" + " " * 100_000 + "x"),
        ("utm_term", "t" * 201),
        ("landing_page", "https://x.example/" + "p" * 2048),
    ],
)
async def test_an_over_long_lead_field_is_a_422_naming_it(
    http: httpx.AsyncClient, field: str, value: str
) -> None:
    key = await api_key(http)
    body = {"email": "ada@example.com", field: value}
    r = await http.post("/v1/leads", json=body, headers={**key, "Origin": ORIGIN})
    assert problem_fields(r) == {field}
    form = await new_form(http)
    r = await http.post(form["submit_url"], data=body, headers={"Origin": ORIGIN})
    assert problem_fields(r) == {field}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"email":"ada@example.com","company":"\\ud800"}', "company"),
        ('{"email":"ada@example.com","notes":"\\udfff"}', "notes"),
        ('{"email":"ada@example.com","custom":{"a":["\\ud800"]}}', "custom.a"),
        ('{"email":"ada@example.com","\\ud800":"x"}', "?"),
    ],
)
async def test_a_lone_surrogate_is_a_422_naming_its_field(
    http: httpx.AsyncClient, body: str, field: str
) -> None:
    form = await new_form(http)
    r = await http.post(form["submit_url"], content=body, headers=JSON)
    assert problem_fields(r) == {field}
    key = await api_key(http)
    r = await http.post("/v1/leads", content=body, headers={**JSON, **key})
    assert r.status_code == 422, r.text
