"""Roles on intake's admin routes: any admin token the kernel knows (not only the bootstrap
one) reads and erases a lead; an analyst may neither export personal data nor erase."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import ADMIN, REP_SUBJECT, bearer, build, client, dispose

LEAD = {"email": "ann@acme.example.com", "first_name": "Ann", "country": "DE"}


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = await build(IntakeSettings, build_app, MIGRATIONS, database_url)
    async with client(app) as c:
        yield c
    await dispose(app)


async def captured(http: httpx.AsyncClient) -> str:
    key = (await http.post("/v1/api-keys", json={"name": "crm"}, headers=ADMIN)).json()["key"]
    r = await http.post("/v1/leads", json=LEAD, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 202, r.text
    lead_id: str = r.json()["lead_id"]
    return lead_id


async def test_an_issued_admin_token_exports_and_erases_a_lead(http: httpx.AsyncClient) -> None:
    lead_id = await captured(http)
    admin = await bearer(http, "admin", REP_SUBJECT)
    r = await http.get(f"/v1/leads/{lead_id}", headers=admin)
    assert (r.status_code, r.json()["lead"]["email"]) == (200, LEAD["email"])
    assert (await http.delete(f"/v1/leads/{lead_id}", headers=admin)).status_code == 202


@pytest.mark.parametrize("role", ["analyst", "sales_tool", "rep"])
async def test_other_roles_neither_export_nor_erase(http: httpx.AsyncClient, role: str) -> None:
    lead_id = await captured(http)
    token = await bearer(http, role, REP_SUBJECT)
    assert (await http.get(f"/v1/leads/{lead_id}", headers=token)).status_code == 403
    assert (await http.delete(f"/v1/leads/{lead_id}", headers=token)).status_code == 403
    assert (await http.get("/v1/api-keys", headers=token)).status_code == 403
    assert (await http.get(f"/v1/leads/{lead_id}")).status_code == 401
