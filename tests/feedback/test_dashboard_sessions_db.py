"""The dashboard on analyst tokens: sessions kept on the server, ended by logout, by the
token's revocation or by a new admin token; other roles refused; failed logins limited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from feedback_events import ADMIN
from sqlalchemy import select

from feedback.app import MIGRATIONS, build_app
from feedback.auth import SESSION_COOKIE
from feedback.models import DashboardSession
from feedback.settings import FeedbackSettings
from leadflow.migrations import upgrade
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres


async def issue(client: httpx.AsyncClient, role: str, **extra: Any) -> dict[str, Any]:
    issued = await client.post("/v1/tokens", json={"role": role, **extra}, headers=ADMIN)
    assert issued.status_code == 201, issued.text
    body: dict[str, Any] = issued.json()
    return body


async def login(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/login", data={"token": token, "next": "/"})


async def rows(rt: Runtime) -> list[DashboardSession]:
    async with rt.sessions() as s:
        return list(await s.scalars(select(DashboardSession)))


def logged_in(page: httpx.Response) -> bool:
    assert page.status_code == 200
    return 'id="login-form"' not in page.text


async def test_an_analyst_logs_in_to_a_session_kept_on_the_server(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    analyst = await issue(client, "analyst")
    response = await login(client, analyst["token"])
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    flags = {p.strip() for p in cookie.split(";")}
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= flags
    assert "Secure" not in flags  # dev over plain HTTP
    value = client.cookies[SESSION_COOKIE]
    assert analyst["token"] not in cookie
    [row] = await rows(rt)
    assert (row.role, row.token_id, row.source) == ("analyst", analyst["token_id"], "token")
    assert value not in row.session_hash  # only its hash is stored
    # Never past the token's own expiry (one day here; sessions last 12 hours by default).
    assert row.expires_at <= datetime.fromisoformat(analyst["expires_at"])
    page = await client.get("/")
    assert logged_in(page)
    # No script at all on the dashboard: none of its own, none from elsewhere.
    csp = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert csp["default-src"] == "'none'"
    assert "script-src" not in csp
    assert "<script" not in page.text
    csv = await client.get("/v1/metrics/funnel.csv")
    assert csv.status_code == 200
    # The analyst reads; writes and personal data stay the admin's.
    analyst_bearer = {"Authorization": f"Bearer {analyst['token']}"}
    assert (await client.get("/v1/metrics/funnel", headers=analyst_bearer)).status_code == 200
    cost = {"amount": "10", "currency": "EUR"}
    put = await client.put("/v1/campaigns/x/cost", json=cost, headers=analyst_bearer)
    assert put.status_code == 403
    assert (await client.get("/v1/integrations", headers=analyst_bearer)).status_code == 403


async def test_logout_ends_the_session_so_the_old_cookie_is_refused(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    analyst = await issue(client, "analyst")
    await login(client, analyst["token"])
    old = client.cookies[SESSION_COOKIE]
    out = await client.post("/logout")
    assert out.status_code == 303
    assert await rows(rt) == []
    replay = {"Cookie": f"{SESSION_COOKIE}={old}"}
    client.cookies.clear()
    assert not logged_in(await client.get("/", headers=replay))
    assert (await client.get("/v1/metrics/funnel.csv", headers=replay)).status_code == 401


async def test_a_revoked_token_ends_its_session(rt: Runtime, client: httpx.AsyncClient) -> None:
    analyst = await issue(client, "analyst")
    await login(client, analyst["token"])
    assert logged_in(await client.get("/"))
    revoked = await client.delete(f"/v1/tokens/{analyst['token_id']}", headers=ADMIN)
    assert revoked.status_code == 204
    assert not logged_in(await client.get("/"))
    assert (await client.get("/v1/metrics/funnel.csv")).status_code == 401
    assert await rows(rt) == []  # and the row is gone


@pytest.mark.parametrize(
    ("role", "subject"),
    [("sales_tool", "HubSpot"), ("rep", "5f0c6a7e-2b1d-4c3e-9a8f-0123456789ab")],
)
async def test_sales_tool_and_rep_tokens_do_not_open_the_dashboard(
    rt: Runtime, client: httpx.AsyncClient, role: str, subject: str
) -> None:
    issued = await issue(client, role, subject=subject)
    refused = await login(client, issued["token"])
    assert refused.status_code == 403
    assert "needs an analyst or admin token" in refused.text
    assert "set-cookie" not in refused.headers
    made = await client.post("/v1/integrations", json={"name": "CRM"}, headers=ADMIN)
    assert (await login(client, made.json()["token"])).status_code == 403  # an lf_it_ token
    assert await rows(rt) == []


async def test_a_new_admin_token_ends_the_old_admin_sessions(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    await login(client, ADMIN["Authorization"].removeprefix("Bearer "))
    cookie = {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}
    assert logged_in(await client.get("/"))
    rotated = build_app(
        FeedbackSettings(
            admin_token="dev-feedback-rotated",
            database_url=database_url,
            kafka_bootstrap="127.0.0.1:9",
        )
    )
    try:
        transport = httpx.ASGITransport(app=rotated)
        async with httpx.AsyncClient(transport=transport, base_url="http://feedback") as other:
            assert not logged_in(await other.get("/", headers=cookie))
    finally:
        await rotated.state.runtime.engine.dispose()


async def test_the_cookie_is_secure_over_https(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://feedback") as client:
        response = await login(client, ADMIN["Authorization"].removeprefix("Bearer "))
    assert "Secure" in {p.strip() for p in response.headers["set-cookie"].split(";")}


@pytest.fixture
async def strict_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The app with a small failed-login budget: 3 at once, then one a minute."""
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    built = build_app(
        FeedbackSettings(
            admin_token="dev-feedback-test",
            database_url=database_url,
            kafka_bootstrap="127.0.0.1:9",
            auth_failures_burst=3,
            auth_failures_per_minute=1,
        )
    )
    yield built
    await built.state.runtime.engine.dispose()


async def test_failed_logins_from_one_address_are_limited(strict_app: FastAPI) -> None:
    def client_at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=strict_app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://feedback")

    async with client_at("203.0.113.7") as guesser, client_at("198.51.100.2") as other:
        for _ in range(3):
            assert (await login(guesser, "guess")).status_code == 401
        limited = await login(guesser, "guess")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert 'id="login-form"' in limited.text
        # Even the right token waits now: a lucky guess would tell nothing.
        right = ADMIN["Authorization"].removeprefix("Bearer ")
        assert (await login(guesser, right)).status_code == 429
        # Bearer checks from that address count against the same budget.
        assert (await guesser.get("/v1/metrics/funnel", headers=ADMIN)).status_code == 429
        # Another address is not held back.
        assert (await login(other, right)).status_code == 303
