"""Hostile inputs on the dashboard's login and cookie: a 4xx or the login page, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from feedback_events import ADMIN

from feedback.auth import SESSION_COOKIE

pytestmark = pytest.mark.postgres

TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


async def test_a_login_with_more_than_ten_form_fields_is_a_4xx_not_a_500(
    client: httpx.AsyncClient,
) -> None:
    fields = {"token": TOKEN, **{f"f{i}": "x" for i in range(11)}}
    r = await client.post("/login", data=fields)
    assert 400 <= r.status_code < 500, r.status_code
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


async def test_a_login_with_a_huge_token_or_next_field_is_refused_quickly(
    client: httpx.AsyncClient,
) -> None:
    for fields in ({"token": "x" * 60_000}, {"token": TOKEN, "next": "/" + "a" * 60_000}):
        r = await client.post("/login", data=fields)
        assert 400 <= r.status_code < 500, r.status_code
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")


async def test_a_login_body_that_is_not_a_form_is_a_4xx(client: httpx.AsyncClient) -> None:
    for content in (b"\xff\xfe\x00token", b"token=%ZZ&&&==", b"=" * 5000, b"&" * 50):
        r = await client.post(
            "/login",
            content=content,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert 400 <= r.status_code < 500, (content[:20], r.status_code)


@pytest.mark.parametrize(
    "cookie",
    [
        "²².abc",  # str.isdigit() says yes, int() says no
        "9" * 5000 + ".abc",  # over int()'s 4,300 digits
        "9999999999.é",  # non-ASCII signature: hmac.compare_digest raises TypeError
        "9999999999." + "a" * 3000,
        "",
        ".",
        "%00%ff",
        "\u2603",
    ],
)
async def test_an_odd_session_cookie_gets_the_login_page_or_401_not_a_500(
    client: httpx.AsyncClient, cookie: str
) -> None:
    # Raw bytes, as a browser or a script may send them (httpx would refuse a non-ASCII str).
    raw = [(b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    page = await client.get("/", headers=raw)
    assert page.status_code == 200
    assert 'id="login-form"' in page.text
    csv = await client.get("/v1/metrics/funnel.csv", headers=raw)
    assert csv.status_code == 401, csv.status_code


async def test_a_forged_cookie_urlencoded_in_the_form_logs_nobody_in(
    client: httpx.AsyncClient,
) -> None:
    body = urlencode({"token": TOKEN + "\u0000"})
    r = await client.post(
        "/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code in (400, 401, 422)
