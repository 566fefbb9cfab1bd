"""A JSON body nested too deep for the decoder, or not JSON at all, is a 422 naming the body."""

from __future__ import annotations

from pathlib import Path

import pytest

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from support.apps import ADMIN, build, client, dispose

DEPTH = 100_000


@pytest.mark.parametrize(
    "body",
    ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH],
    ids=["arrays", "objects"],
)
@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/v1/scores/preview"), ("PUT", "/v1/scoring/rules")]
)
async def test_a_body_nested_100000_deep_is_a_422_naming_the_body(
    tmp_path: Path, method: str, path: str, body: str
) -> None:
    app = await build(
        ScoringSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/s.db"
    )
    try:
        async with client(app) as http:
            r = await http.request(
                method, path, content=body, headers={**ADMIN, "Content-Type": "application/json"}
            )
    finally:
        await dispose(app)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "body", "message": "is nested too deeply"}]


@pytest.mark.parametrize("body", ["{nope", '{"a": 1,', "[1, 2"], ids=["word", "cut", "list"])
async def test_a_body_that_is_not_json_is_a_422_naming_the_body(tmp_path: Path, body: str) -> None:
    app = await build(
        ScoringSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/s.db"
    )
    try:
        async with client(app) as http:
            r = await http.put(
                "/v1/scoring/rules",
                content=body,
                headers={**ADMIN, "Content-Type": "application/json"},
            )
    finally:
        await dispose(app)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["field"] == "body"
    assert error["message"].startswith("is not valid JSON: ")
