"""Wrong `lf_sk_` keys count towards the kernel's failed-check limit per client address
(SQLite and PostgreSQL): past it, key routes answer 429 before any key lookup."""

from __future__ import annotations

import uuid

import httpx

from support.apps import client
from support.intake import MakeApp, api_key

LEAD = {"email": "ceo@bigcorp.example", "first_name": "Real"}


async def test_wrong_keys_count_towards_the_failure_limit(make_app: MakeApp) -> None:
    app = await make_app(auth_failures_burst=3, auth_failures_per_minute=1)
    guesser = httpx.ASGITransport(app=app, client=("198.51.100.9", 1))
    async with client(app) as http:
        good = await api_key(http)
        async with httpx.AsyncClient(transport=guesser, base_url="http://test") as bad:
            codes = [
                (await bad.post("/v1/leads", json=LEAD, headers=_key(i))).status_code
                for i in range(3)
            ]
            codes.append((await bad.get(f"/v1/leads/{uuid.uuid4()}", headers=_key(3))).status_code)
            assert codes == [401, 401, 401, 429]
            for r in (
                await bad.post("/v1/leads", json=LEAD, headers=good),
                await bad.get(f"/v1/leads/{uuid.uuid4()}", headers=good),
                await bad.post("/v1/leads/batch", json={"leads": [LEAD]}, headers=good),
            ):
                # Blocked before the key is looked up: even the right key is refused.
                assert r.status_code == 429, r.text
                assert int(r.headers["retry-after"]) >= 1
        # Another address is not blocked.
        assert (await http.post("/v1/leads", json=LEAD, headers=good)).status_code == 202


def _key(i: int) -> dict[str, str]:
    return {"Authorization": f"Bearer lf_sk_guess{i}"}
