"""OIDC signing keys: the key set expires (a key the issuer removed stops counting), and a slow
or failing JWKS endpoint costs one fetch on the verifier's own thread, never the loop's
default executor; served by a JWKS endpoint this test runs itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, FastAPI
from kernel_app import KernelTestSettings, create_tables

from leadflow.access import Reader
from leadflow.oidc import OidcVerifier
from leadflow.service import Runtime, create_app
from support.jwks import Idp
from support.kafka_tools import eventually

ISSUER = "https://idp.example.test"
AUDIENCE = "leadflow"
ADMIN = {"Authorization": "Bearer dev-test"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def k1() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def k2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def idp(k1: rsa.RSAPrivateKey) -> Iterator[Idp]:
    server = Idp()
    server.publish((k1, "k1"))
    yield server
    server.stop()


def token(key: rsa.RSAPrivateKey, kid: str, sub: str = "analyst-1") -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": now + 300}
    return jwt.encode(claims | {"leadflow_role": "analyst"}, key, "RS256", headers={"kid": kid})


def verifier(idp: Idp, clock: Clock, **kw: Any) -> OidcVerifier:
    return OidcVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks_url=idp.url, algorithms=["RS256"], clock=clock, **kw
    )


async def subject(v: OidcVerifier, jwt_text: str) -> str | None:
    """The subject of an accepted token, None when refused."""
    found = await v.verify(jwt_text)
    return None if found is None else found[1]


async def test_a_key_the_issuer_removed_stops_counting_once_the_set_expires(
    idp: Idp, k1: rsa.RSAPrivateKey, k2: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    v = verifier(idp, clock)
    assert await subject(v, token(k1, "k1")) == "analyst-1"
    idp.publish((k2, "k2"))  # the issuer rotates k1 out (say it leaked)
    clock.now += 299
    assert await v.verify(token(k1, "k1")) is not None  # within the set's lifespan
    assert idp.fetches == 1
    clock.now += 2  # the set is older than its five minutes
    assert await subject(v, token(k2, "k2")) == "analyst-1"
    assert await v.verify(token(k1, "k1", sub="attacker")) is None
    assert idp.fetches == 2


async def test_a_failed_fetch_refuses_unknown_kids_without_fetching_for_a_while(
    idp: Idp, k1: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    v = verifier(idp, clock, retry_seconds=10)
    assert await v.verify(token(k1, "k1")) is not None
    idp.status = 503
    clock.now += 301  # the set expired, and the endpoint fails
    for n in range(20):
        assert await v.verify(token(k1, f"made-up-{n}")) is None
    assert await v.verify(token(k1, "k1")) is None  # an expired set is not trusted
    assert idp.fetches == 2  # one fetch for all of them
    idp.status = 200
    clock.now += 5
    assert await v.verify(token(k1, "k1")) is None  # still within the 10 s after the failure
    assert idp.fetches == 2
    clock.now += 6
    assert await v.verify(token(k1, "k1")) is not None
    assert idp.fetches == 3


async def test_a_known_kid_needs_no_thread_and_concurrent_unknown_kids_share_one_fetch(
    idp: Idp, k1: rsa.RSAPrivateKey
) -> None:
    clock = Clock()
    v = verifier(idp, clock, retry_seconds=0)
    assert await v.verify(token(k1, "k1")) is not None
    v.close()  # no thread left: a kid in the set at hand must not need one
    assert await v.verify(token(k1, "k1")) is not None
    idp.delay = 0.3
    w = verifier(idp, clock, retry_seconds=0)
    found = await asyncio.gather(*(w.verify(token(k1, "k1")) for _ in range(20)))
    assert all(f is not None for f in found)
    assert idp.fetches == 2  # one for `v`, one shared by the twenty calls of `w`


@pytest.fixture
async def app(tmp_path: Path, idp: Idp) -> AsyncIterator[FastAPI]:
    router = APIRouter()

    @router.get("/read")
    async def read(p: Reader) -> dict[str, Any]:
        return {"role": p.role}

    settings = KernelTestSettings(
        admin_token="dev-test",  # type: ignore[arg-type]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/oidc.db",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=idp.url,
        auth_failures_burst=1000,
    )
    rt = Runtime.build(settings)
    await create_tables(rt)
    yield create_app(rt, title="oidc", description="", routers=[router])
    await rt.engine.dispose()


async def test_bad_jwts_while_the_jwks_hangs_do_not_hold_the_default_executor(
    app: FastAPI, idp: Idp, k1: rsa.RSAPrivateKey
) -> None:
    idp.delay = 3.0  # the identity provider hangs
    loop = asyncio.get_running_loop()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        flood = [
            asyncio.create_task(http.get("/read", headers={"Authorization": f"Bearer {t}"}))
            for t in (token(k1, f"made-up-{n}") for n in range(40))
        ]
        await eventually(lambda: idp.fetches >= 1)  # they are waiting on the JWKS now
        started = time.perf_counter()
        await loop.getaddrinfo("localhost", 80)  # what asyncpg and aiohttp reconnects need
        assert (await http.get("/read", headers=ADMIN)).status_code == 200
        # Held behind the hanging fetch, these would take its 3 s; the margin is for load.
        assert time.perf_counter() - started < 2.0
        assert [r.status_code for r in await asyncio.gather(*flood)] == [401] * 40
    assert idp.fetches == 1
