"""The dashboard's login, logout and period over HTTP (the browser test sees it rendered)."""

from __future__ import annotations

import httpx
import pytest
from feedback_events import ADMIN

pytestmark = pytest.mark.postgres

TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


async def test_login_sets_a_strict_httponly_cookie_and_logout_drops_it(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post("/login", data={"token": "wrong"})
    assert refused.status_code == 401
    assert "That token is not right." in refused.text
    # Only a path on this site is followed after login (no open redirect).
    login = await client.post("/login", data={"token": TOKEN, "next": "//evil.example/"})
    assert (login.status_code, login.headers["location"]) == (303, "/")
    cookie = login.headers["set-cookie"]
    assert cookie.startswith("lf_feedback_session=")
    assert {"HttpOnly", "SameSite=strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
    assert TOKEN not in cookie
    page = await client.get("/")
    assert page.status_code == 200
    assert 'id="kpi-leads">0<' in page.text  # no leads yet: zeros, and "No data" charts
    assert "default-src 'none'" in page.headers["content-security-policy"]
    css = await client.get("/static/dashboard.css")
    assert (css.status_code, css.headers["content-type"].split(";")[0]) == (200, "text/css")
    out = await client.post("/logout")
    assert out.status_code == 303
    assert 'id="login-form"' in (await client.get("/")).text


async def test_a_bad_period_is_said_on_the_page(client: httpx.AsyncClient) -> None:
    await client.post("/login", data={"token": TOKEN})
    bad = await client.get("/", params={"from": "March", "to": "2026-03-01"})
    assert bad.status_code == 200
    assert "from: not a date (YYYY-MM-DD)" in bad.text
    backwards = await client.get("/", params={"from": "2026-03-05", "to": "2026-03-01"})
    assert "to: must not be before from" in backwards.text
