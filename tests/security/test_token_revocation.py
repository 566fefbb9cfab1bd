"""Issued tokens across the four services, as processes on the real broker: a token minted
on one service is accepted by every other, and once revoked (on any service) every service
refuses it within 5 s — the revocation travels through the outbox and `leadflow.tokens`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.stack import SERVICES, Stack

PROBE = {"role": "analyst", "ttl_days": 1}  # minting is a harmless call only admins may make


@pytest.fixture(scope="module")
def four(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base: Path = tmp_path_factory.mktemp("tokens")
    s = Stack(base, kafka_bootstrap).start()
    yield s
    s.stop()


async def mint(http: httpx.AsyncClient, four: Stack, service: str, role: str) -> dict[str, str]:
    r = await http.post(f"{four.url(service)}/v1/tokens", json={"role": role}, headers=four.admin())
    assert r.status_code == 201, r.text
    body: dict[str, str] = r.json()
    return body


async def status_on(http: httpx.AsyncClient, four: Stack, service: str, token: str) -> int:
    r = await http.post(
        f"{four.url(service)}/v1/tokens",
        json=PROBE,
        headers={"Authorization": f"Bearer {token}"},
    )
    return r.status_code


async def test_a_token_minted_on_one_service_is_accepted_by_every_other(four: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        issued = await mint(http, four, "marketing-intake", "admin")
        for service in SERVICES:
            assert await status_on(http, four, service, issued["token"]) == 201, service
        analyst = await mint(http, four, "feedback", "analyst")
        for service in SERVICES:  # known everywhere, but not an admin: 403, not 401
            assert await status_on(http, four, service, analyst["token"]) == 403, service


async def test_a_revoked_token_is_refused_by_every_service_within_5_seconds(
    four: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        issued = await mint(http, four, "lead-scoring", "admin")
        token = issued["token"]
        for service in SERVICES:
            assert await status_on(http, four, service, token) == 201, service

        r = await http.delete(
            f"{four.url('sales-assignment')}/v1/tokens/{issued['token_id']}",
            headers=four.admin(),
        )
        assert r.status_code == 204, r.text
        revoked_at = time.monotonic()
        # The service that took the DELETE refuses at once.
        assert await status_on(http, four, "sales-assignment", token) == 401

        refused_after: dict[str, float] = {}
        while len(refused_after) < len(SERVICES) and time.monotonic() - revoked_at < 5:
            for service in SERVICES:
                seen = service in refused_after
                if not seen and await status_on(http, four, service, token) == 401:
                    refused_after[service] = time.monotonic() - revoked_at
            await asyncio.sleep(0.05)
        assert set(refused_after) == set(SERVICES), (refused_after, four.logs())
        # And it stays refused (no service forgets it).
        for service in SERVICES:
            assert await status_on(http, four, service, token) == 401, service
