"""A dashboard session is bound to what verified its login: a new token secret ends the
sessions opened with issued tokens, new OIDC settings end those opened with OIDC tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from feedback_events import ADMIN

from feedback import sessions
from feedback.app import build_app
from feedback.auth import SESSION_COOKIE
from feedback.settings import FeedbackSettings
from leadflow.access import Principal

pytestmark = pytest.mark.postgres

OIDC = {
    "oidc_issuer": "https://idp.example.test",
    "oidc_audience": "leadflow",
    "oidc_jwks_url": "https://idp.example.test/jwks",
}


@asynccontextmanager
async def other_app(database_url: str, **settings: Any) -> AsyncIterator[Client]:
    """The same database under other settings (a restart with them)."""
    app = build_app(
        FeedbackSettings(
            admin_token=ADMIN["Authorization"].removeprefix("Bearer "),
            database_url=database_url,
            kafka_bootstrap="127.0.0.1:9",
            **settings,
        )
    )
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://feedback") as http:
            yield Client(http, app)
    finally:
        await app.state.runtime.engine.dispose()


def logged_in(page: httpx.Response) -> bool:
    assert page.status_code == 200
    return 'id="login-form"' not in page.text


@dataclass
class Client:
    """An HTTP client on an app, and the app."""

    http: httpx.AsyncClient
    app: FastAPI

    async def page(self, cookie: dict[str, str]) -> httpx.Response:
        return await self.http.get("/", headers=cookie)


async def test_a_new_token_secret_ends_sessions_opened_with_issued_tokens(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    issued = await client.post("/v1/tokens", json={"role": "analyst"}, headers=ADMIN)
    r = await client.post("/login", data={"token": issued.json()["token"], "next": "/"})
    assert r.status_code == 303, r.text
    cookie = {"Cookie": f"{SESSION_COOKIE}={client.cookies[SESSION_COOKIE]}"}
    async with other_app(database_url) as same:  # a restart, nothing changed
        assert logged_in(await same.page(cookie))
    async with other_app(database_url, token_secret="n" * 40) as rotated:
        assert not logged_in(await rotated.page(cookie))
        r = await rotated.http.get("/v1/metrics/funnel.csv", headers=cookie)
        assert r.status_code == 401
    async with other_app(database_url) as back:  # the session was ended, not just refused
        assert not logged_in(await back.page(cookie))


async def test_new_oidc_settings_end_sessions_opened_with_oidc_tokens(
    app: FastAPI, database_url: str
) -> None:
    async with other_app(database_url, **OIDC) as first:
        app = first.app
        now = datetime.now(UTC)
        value = await sessions.open_session(
            app.state.runtime,
            Principal("analyst", None, None, "oidc"),
            fingerprint=sessions.credential_fingerprint(app.state.settings, "oidc"),
            now=now,
            expires_at=now + timedelta(hours=1),
        )
        cookie = {"Cookie": f"{SESSION_COOKIE}={value}"}
        assert logged_in(await first.page(cookie))
    moved = OIDC | {"oidc_jwks_url": "https://elsewhere.example.test/jwks"}
    async with other_app(database_url, **moved) as rotated:
        assert not logged_in(await rotated.page(cookie))
    async with other_app(database_url, **OIDC) as back:
        assert not logged_in(await back.page(cookie))
