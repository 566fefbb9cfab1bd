"""Access kernel: issued `lf_at_` tokens, roles, revocation on the issuing service, OIDC JWTs
against keys and a JWKS this test serves itself, and the brute-force limit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import APIRouter, FastAPI
from jwt.algorithms import RSAAlgorithm
from kernel_app import KernelTestSettings, create_tables
from pydantic import ValidationError
from sqlalchemy import select

from leadflow.access import AdminOnly, Principal, Reader, allow, roles_text
from leadflow.access_tokens import Claims, mint_token, signing_key, verify_token
from leadflow.oidc import OidcVerifier
from leadflow.outbox import outbox_table
from leadflow.service import Runtime, create_app
from support.apps import client
from support.jwks import Idp
from support.kafka_tools import eventually

ADMIN = {"Authorization": "Bearer dev-test"}
ISSUER = "https://idp.example.test"
AUDIENCE = "leadflow"
REP_ID = "5f0c6a7e-2b1d-4c3e-9a8f-0123456789ab"

router = APIRouter()


@router.get("/read", description=roles_text("admin", "analyst"))
async def read(p: Reader) -> dict[str, Any]:
    return {"role": p.role, "subject": p.subject, "source": p.source}


@router.get("/write", description=roles_text("admin"))
async def write(_: AdminOnly) -> dict[str, str]:
    return {"ok": "yes"}


@router.get("/sales", description=roles_text("sales_tool", "rep"))
async def sales(p: Annotated[Principal, allow("sales_tool", "rep")]) -> dict[str, Any]:
    return {"role": p.role, "subject": p.subject}


async def kernel_app(tmp_path: Path, **settings: Any) -> FastAPI:
    s = KernelTestSettings(
        admin_token="dev-test",  # type: ignore[arg-type]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/access.db",
        **settings,
    )
    rt = Runtime.build(s)
    await create_tables(rt)
    return create_app(rt, title="access", description="", routers=[router])


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    a = await kernel_app(tmp_path)
    yield a
    await a.state.runtime.engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def issue(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await http.post("/v1/tokens", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    issued: dict[str, Any] = r.json()
    return issued


# ---------------------------------------------------------------- issued tokens


async def test_an_issued_token_carries_its_role_and_subject(app: FastAPI) -> None:
    async with client(app) as http:
        analyst = await issue(http, role="analyst")
        assert analyst["token"].startswith("lf_at_")
        assert analyst["token_id"] in analyst["token"] or analyst["token_id"].startswith("tok_")
        r = await http.get("/read", headers=bearer(analyst["token"]))
        assert r.json() == {"role": "analyst", "subject": None, "source": "token"}
        assert (await http.get("/write", headers=bearer(analyst["token"]))).status_code == 403
        rep = await issue(http, role="rep", subject=REP_ID)
        r = await http.get("/sales", headers=bearer(rep["token"]))
        assert r.json() == {"role": "rep", "subject": REP_ID}
        assert (await http.get("/read", headers=bearer(rep["token"]))).status_code == 403


async def test_the_bootstrap_admin_token_is_an_admin(app: FastAPI) -> None:
    async with client(app) as http:
        r = await http.get("/read", headers=ADMIN)
        assert r.json()["source"] == "bootstrap"
        assert (await http.get("/sales", headers=ADMIN)).status_code == 200  # admin: always


async def test_missing_unknown_and_forged_tokens_are_401(app: FastAPI) -> None:
    async with client(app) as http:
        r = await http.get("/read")
        assert (r.status_code, r.headers["www-authenticate"]) == (401, "Bearer")
        real = (await issue(http, role="admin"))["token"]
        body, _, signature = real.partition(".")
        forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
        for token in ("nope", "lf_at_x.y", forged, real + "x", real.replace(".", "")):
            r = await http.get("/read", headers=bearer(token))
            assert r.status_code == 401, token


async def test_a_rep_token_needs_a_subject_and_roles_are_checked(app: FastAPI) -> None:
    async with client(app) as http:
        r = await http.post("/v1/tokens", json={"role": "rep"}, headers=ADMIN)
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["subject"]
        r = await http.post("/v1/tokens", json={"role": "root"}, headers=ADMIN)
        assert r.status_code == 422
        r = await http.post("/v1/tokens", json={"role": "analyst", "ttl_days": 0}, headers=ADMIN)
        assert [e["field"] for e in r.json()["errors"]] == ["ttl_days"]
        analyst = (await issue(http, role="analyst"))["token"]
        r = await http.post("/v1/tokens", json={"role": "admin"}, headers=bearer(analyst))
        assert r.status_code == 403  # only an admin mints tokens


async def test_the_issuing_service_refuses_a_revoked_token_at_once(app: FastAPI) -> None:
    async with client(app) as http:
        issued = await issue(http, role="analyst")
        assert (await http.get("/read", headers=bearer(issued["token"]))).status_code == 200
        r = await http.delete(f"/v1/tokens/{issued['token_id']}", headers=ADMIN)
        assert r.status_code == 204
        assert (await http.get("/read", headers=bearer(issued["token"]))).status_code == 401
        r = await http.delete("/v1/tokens/not-a-token-id", headers=ADMIN)
        assert r.status_code == 422
        r = await http.delete(f"/v1/tokens/{issued['token_id']}", headers=bearer(issued["token"]))
        assert r.status_code == 401


async def test_issuance_and_revocation_are_in_the_outbox_before_they_are_answered(
    app: FastAPI,
) -> None:
    async with client(app) as http:
        issued = await issue(http, role="analyst")
        await http.delete(f"/v1/tokens/{issued['token_id']}", headers=ADMIN)
    async with app.state.runtime.sessions() as s:
        rows = (await s.execute(select(outbox_table))).all()
    tid = issued["token_id"]
    assert [(r.topic, r.key) for r in rows] == [
        ("leadflow.tokens", f"{tid}/issued".encode()),  # the issuance, then the revocation
        ("leadflow.tokens", tid.encode()),
    ]
    assert [json.loads(r.value)["kind"] for r in rows] == ["issued", "revoked"]
    assert json.loads(rows[1].value)["token_id"] == tid


def test_tokens_expire_and_need_the_signing_key() -> None:
    settings = KernelTestSettings(admin_token="dev-test")  # type: ignore[arg-type]
    key = signing_key(settings)
    now = time.time()
    claims = Claims("tok_" + "a" * 24, "analyst", None, int(now) + 60)
    token = mint_token(key, claims)
    assert verify_token(token, key, now=now) == claims
    assert verify_token(token, key, now=now + 61) is None
    assert verify_token(token, b"another key", now=now) is None
    other = KernelTestSettings(admin_token="dev-other")  # type: ignore[arg-type]
    assert verify_token(token, signing_key(other), now=now) is None
    secret = KernelTestSettings(admin_token="dev-test", token_secret="s" * 40)  # type: ignore[arg-type]
    assert signing_key(secret) != key


def test_prod_refuses_a_missing_or_weak_token_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    base = {
        "env": "prod",
        "admin_token": "Zq8rT2vLx9Wm4Np7Ks1Yb6Hc3Jd5Fg0Ae",
        "database_url": "postgresql+asyncpg://db/x",
        "allow_plaintext": True,  # the transport rules are another test's
        "secrets_key": "Wd3pQ8zLk1Xv6Ry0Nb4Tm7Hc2Js9Fg5Ua",
    }
    with pytest.raises(ValidationError, match="LEADFLOW_TOKEN_SECRET"):
        KernelTestSettings(**base)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="LEADFLOW_TOKEN_SECRET"):
        KernelTestSettings(**base, token_secret="a" * 40)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="the admin token itself"):
        KernelTestSettings(**base, token_secret=base["admin_token"])  # type: ignore[arg-type]
    ok = KernelTestSettings(**base, token_secret="Tk4s9Lm2Qx7Vb1Nc8Zr5Hw3Jp6Yd0FgUe2Wq8Ro")  # type: ignore[arg-type]
    assert ok.token_secret is not None


# ---------------------------------------------------------------- brute force


async def test_failed_bearer_checks_from_one_address_are_limited(tmp_path: Path) -> None:
    app = await kernel_app(tmp_path, auth_failures_burst=3, auth_failures_per_minute=1)
    async with client(app) as http:
        for _ in range(3):
            assert (await http.get("/read", headers=bearer("guess"))).status_code == 401
        r = await http.get("/read", headers=bearer("guess"))
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1
        # Blocked means blocked: even a right guess tells nothing until it cools down.
        assert (await http.get("/read", headers=ADMIN)).status_code == 429
    await app.state.runtime.engine.dispose()


async def test_good_tokens_spend_nothing_of_the_failure_budget(tmp_path: Path) -> None:
    app = await kernel_app(tmp_path, auth_failures_burst=2, auth_failures_per_minute=1)
    async with client(app) as http:
        for _ in range(20):
            assert (await http.get("/read", headers=ADMIN)).status_code == 200
        assert (await http.get("/read", headers=bearer("guess"))).status_code == 401
    await app.state.runtime.engine.dispose()


# ---------------------------------------------------------------- OIDC


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(rsa_key: rsa.RSAPrivateKey) -> Iterator[Idp]:
    jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    server = Idp([jwk | {"kid": "k1", "alg": "RS256", "use": "sig"}])
    yield server
    server.stop()


@pytest.fixture
async def oidc_app(tmp_path: Path, jwks: Idp) -> AsyncIterator[FastAPI]:
    a = await kernel_app(
        tmp_path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=jwks.url
    )
    yield a
    await a.state.runtime.engine.dispose()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": REP_ID,
        "iat": now,
        "exp": now + 300,
        "leadflow_role": "analyst",
        "jti": str(uuid.uuid4()),
    }
    return {k: v for k, v in (base | changes).items() if v is not None}


def signed(key: rsa.RSAPrivateKey, payload: dict[str, Any], kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def test_an_oidc_jwt_of_the_issuer_is_accepted(
    oidc_app: FastAPI, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with client(oidc_app) as http:
        r = await http.get("/read", headers=bearer(signed(rsa_key, claims())))
        assert r.status_code == 200, r.text
        assert r.json() == {"role": "analyst", "subject": REP_ID, "source": "oidc"}
        rep = signed(rsa_key, claims(leadflow_role="rep"))
        assert (await http.get("/sales", headers=bearer(rep))).json()["subject"] == REP_ID
        assert (await http.get("/read", headers=bearer(rep))).status_code == 403


async def test_oidc_jwts_that_do_not_check_out_are_401(
    oidc_app: FastAPI, rsa_key: rsa.RSAPrivateKey
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo
    )
    refused = {
        "wrong issuer": signed(rsa_key, claims(iss="https://evil.example.test")),
        "wrong audience": signed(rsa_key, claims(aud="someone-else")),
        "expired": signed(rsa_key, claims(exp=int(time.time()) - 60, iat=int(time.time()) - 400)),
        "no expiry": signed(rsa_key, claims(exp=None)),
        "alg none": jwt.encode(claims(), None, algorithm="none", headers={"kid": "k1"}),
        "unknown kid": signed(rsa_key, claims(), kid="k9"),
        "another key": signed(stranger, claims()),
        "HS256 with the public key": _hs256(public_pem, claims()),
        "unknown role": signed(rsa_key, claims(leadflow_role="root")),
        "no role": signed(rsa_key, claims(leadflow_role=None)),
        "rep without subject": signed(rsa_key, claims(leadflow_role="rep", sub=None)),
        "rep not a UUID": signed(rsa_key, claims(leadflow_role="rep", sub="None")),
    }
    async with client(oidc_app) as http:
        for why, token in refused.items():
            r = await http.get("/read", headers=bearer(token))
            assert r.status_code == 401, why


def _hs256(secret: bytes, payload: dict[str, Any]) -> str:
    """An HMAC token keyed with the issuer's public key (the algorithm-confusion attack),
    built by hand: PyJWT refuses to make one."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = b64(json.dumps(payload).encode())
    mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


def test_oidc_settings_refuse_symmetric_or_empty_algorithms() -> None:
    for algorithms in ("none", "HS256", "RS256,HS256"):
        with pytest.raises(ValidationError, match="asymmetric"):
            KernelTestSettings(admin_token="dev-test", oidc_algorithms=algorithms)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="AUDIENCE"):
        KernelTestSettings(admin_token="dev-test", oidc_issuer=ISSUER)  # type: ignore[arg-type]


def test_the_verifier_refuses_symmetric_algorithms_in_any_case() -> None:
    """The settings and the verifier refuse the same names, compared without case."""
    for algorithms in (["hs256"], ["RS256", "Hs512"], ["NONE"]):
        with pytest.raises(ValidationError, match="asymmetric"):
            KernelTestSettings(admin_token="dev-test", oidc_algorithms=",".join(algorithms))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="asymmetric"):
            OidcVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=ISSUER, algorithms=algorithms)


async def test_a_slow_jwks_does_not_stall_other_requests(
    oidc_app: FastAPI, rsa_key: rsa.RSAPrivateKey, jwks: Idp
) -> None:
    jwks.delay = 3.0  # the identity provider answers slowly
    async with client(oidc_app) as http:
        started = time.perf_counter()
        oidc = asyncio.create_task(http.get("/read", headers=bearer(signed(rsa_key, claims()))))
        await eventually(lambda: jwks.fetches >= 1)  # the key fetch is under way
        assert (await http.get("/read", headers=ADMIN)).status_code == 200
        # A fetch on the event loop would hold it the whole 3 s; the margin is for load.
        assert time.perf_counter() - started < 2.0  # the fetch runs off the event loop
        assert (await oidc).status_code == 200
        assert jwks.fetches == 1
        again = await http.get("/read", headers=bearer(signed(rsa_key, claims())))
        assert (again.status_code, jwks.fetches) == (200, 1)  # keys are cached
