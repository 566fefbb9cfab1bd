"""A hand-read route answers and is documented as its typed twin is."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Header, Request
from pydantic import BaseModel, ConfigDict

from leadflow import handread
from leadflow.http import Credentials, bearer_of, bearer_token, install_error_handlers
from leadflow.openapi import document_problems


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    flag: bool | None = None


class Body(BaseModel):
    model_config = ConfigDict(strict=True)
    email: str
    size: int | str | None = None
    inner: Inner | None = None


KEY = {"name": "idempotency-key", "schema": {"type": "string", "maxLength": 10}}


def require_token(credentials: Credentials) -> str:
    return bearer_token(credentials)


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/typed", status_code=202)
    async def typed(
        body: Body,
        token: Annotated[str, Depends(require_token)],
        idempotency_key: Annotated[str | None, Header(max_length=10)] = None,
    ) -> dict[str, Any]:
        return {"token": token, **body.model_dump(exclude_unset=True)}

    @app.post(
        "/hand",
        status_code=202,
        openapi_extra=handread.documented(body=Body, headers=[KEY], bearer=True),
    )
    async def hand(request: Request) -> dict[str, Any]:
        token = bearer_of(request)
        errors = handread.header_errors(request, {"idempotency-key": 10})
        body = await handread.json_body(request, Body, errors)
        return {"token": token, **body.model_dump(exclude_unset=True)}

    document_problems(app)
    return app


AUTH = {"Authorization": "Bearer t0ken"}
CASES: list[tuple[str, dict[str, str], bytes]] = [
    ("valid", {**AUTH, "content-type": "application/json"}, b'{"email": "a@b.co", "size": 5}'),
    ("no content type", AUTH, b'{"email": "a@b.co"}'),
    (
        "content type with charset",
        {**AUTH, "content-type": "application/json; charset=utf-8"},
        b'{"email": "a@b.co"}',
    ),
    ("+json", {**AUTH, "content-type": "application/vnd.x+json"}, b'{"email": "a@b.co"}'),
    ("not json", {**AUTH, "content-type": "application/json"}, b"{nope"),
    ("form type", {**AUTH, "content-type": "text/plain"}, b'{"email": "a@b.co"}'),
    ("empty", {**AUTH, "content-type": "application/json"}, b""),
    ("missing field", {**AUTH, "content-type": "application/json"}, b"{}"),
    ("wrong types", {**AUTH, "content-type": "application/json"}, b'{"email": 1, "size": []}'),
    ("nested", {**AUTH, "content-type": "application/json"}, b'{"email": "a", "inner": {"x": 1}}'),
    ("a list", {**AUTH, "content-type": "application/json"}, b"[1]"),
    ("long header", {**AUTH, "idempotency-key": "x" * 11}, b'{"email": 2}'),
    ("no token", {"content-type": "application/json"}, b'{"email": "a@b.co"}'),
    ("basic auth", {"Authorization": "Basic abc"}, b'{"email": "a@b.co"}'),
    ("bearer, no token", {"Authorization": "Bearer "}, b'{"email": "a@b.co"}'),
]


@pytest.mark.parametrize(("case", "headers", "body"), CASES, ids=[c[0] for c in CASES])
async def test_answers_as_the_typed_route_does(
    case: str, headers: dict[str, str], body: bytes
) -> None:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        typed = await http.post("/typed", content=body, headers=headers)
        hand = await http.post("/hand", content=body, headers=headers)
    assert hand.status_code == typed.status_code, case
    if case == "not json":  # FastAPI names the byte where decoding failed, as if a field
        assert [e["field"] for e in hand.json()["errors"]] == ["body"]
    elif typed.status_code == 422:
        fields = [e["field"] for e in typed.json()["errors"]]
        assert [e["field"] for e in hand.json()["errors"]] == fields
    else:
        assert hand.json() == typed.json()


def test_is_documented_as_the_typed_route_is() -> None:
    doc = make_app().openapi()
    typed, hand = doc["paths"]["/typed"]["post"], doc["paths"]["/hand"]["post"]
    assert hand["requestBody"] == typed["requestBody"]
    assert hand["security"] == typed["security"]
    assert [p["name"] for p in hand["parameters"]] == [p["name"] for p in typed["parameters"]]
    assert sorted(hand["responses"]) == sorted(typed["responses"])
    assert {"Body", "Inner"} <= set(doc["components"]["schemas"])
