"""The form limit counts an IPv6 visitor by its /64: rotating addresses in it buys nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from support.apps import client
from support.intake import ORIGIN, MakeApp, new_form


async def _post(app: FastAPI, peer: str, url: str, n: int) -> int:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        headers = {"Origin": ORIGIN, "Accept": "*/*"}
        r = await http.post(url, json={"email": f"v{n}@example.com"}, headers=headers)
    return r.status_code


async def test_addresses_of_one_64_share_one_budget(make_app: MakeApp) -> None:
    app = await make_app(rate_limit_form_per_minute=1, rate_limit_form_burst=2)
    async with client(app) as http:
        url = (await new_form(http))["submit_url"]
    same_64 = [f"2001:db8:1:2::{n:x}" for n in range(1, 6)] + ["2001:db8:1:2:ffff::9"]
    codes = [await _post(app, peer, url, n) for n, peer in enumerate(same_64)]
    assert codes == [202, 202, 429, 429, 429, 429]
    assert await _post(app, "2001:db8:1:3::1", url, 99) == 202  # the next /64: its own budget
