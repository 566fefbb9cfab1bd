"""The scoring API answers only tokens of the roles the contract names (it had no auth)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from support.apps import ADMIN, REP_SUBJECT, bearer, build, client, dispose


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = await build(ScoringSettings, build_app, MIGRATIONS, database_url)
    async with client(app) as c:
        yield c
    await dispose(app)


READS = [
    ("GET", "/v1/scores/00000000-0000-4000-8000-000000000001"),
    ("GET", "/v1/scoring/rules"),
    ("GET", "/v1/scoring/model"),
]


@pytest.mark.parametrize(("method", "path"), READS)
async def test_reads_need_an_admin_or_analyst_token(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    assert (await http.request(method, path)).status_code == 401
    assert (
        await http.request(method, path, headers=await bearer(http, "analyst", REP_SUBJECT))
    ).status_code in (
        200,
        404,
    )
    for role in ("sales_tool", "rep"):
        r = await http.request(method, path, headers=await bearer(http, role, REP_SUBJECT))
        assert r.status_code == 403, (role, r.text)


async def test_preview_needs_a_reader_and_rules_need_admin(http: httpx.AsyncClient) -> None:
    body = {"email": "ann@acme.example.com", "country": "DE"}
    assert (await http.post("/v1/scores/preview", json=body)).status_code == 401
    analyst = await bearer(http, "analyst", REP_SUBJECT)
    assert (await http.post("/v1/scores/preview", json=body, headers=analyst)).status_code == 200
    rules = (await http.get("/v1/scoring/rules", headers=analyst)).json()["rules"]
    r = await http.put("/v1/scoring/rules", json=rules, headers=analyst)
    assert r.status_code == 403
    assert (await http.put("/v1/scoring/rules", json=rules, headers=ADMIN)).status_code == 200
