"""Issued tokens kept by each service: a revocation survives a restart (the service's own
table), a replica learns revocations and issuances from `leadflow.tokens` into its table,
refuses issued tokens while it may not know them yet, and lists every token with its
lineage; child tokens never outlive their issuer; a subject's tokens are revoked at once."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from leadflow.access import access_of
from leadflow.access_tokens import Catchup
from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import ADMIN, build, client, dispose
from support.kafka_tools import eventually

PROTECTED = "/v1/api-keys"  # an admin route of intake


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def intake(
    database_url: str, *, live: bool = False, **settings: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Intake on `database_url`; `live`: with its lifespan (relay, token follower)."""
    settings.setdefault("kafka_bootstrap", "127.0.0.1:9")
    app = await build(IntakeSettings, build_app, MIGRATIONS, database_url, **settings)
    try:
        async with contextlib.AsyncExitStack() as stack:
            if live:
                await stack.enter_async_context(app.router.lifespan_context(app))
            http = await stack.enter_async_context(client(app))
            yield app, http
    finally:
        await dispose(app)


async def mint(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    r = await http.post("/v1/tokens", json=body, headers=headers)
    assert r.status_code == 201, r.text
    issued: dict[str, Any] = r.json()
    return issued


async def test_a_revocation_survives_a_restart(database_url: str) -> None:
    async with intake(database_url) as (_, http):
        issued = await mint(http, ADMIN, role="admin")
        assert (await http.get(PROTECTED, headers=bearer(issued["token"]))).status_code == 200
        r = await http.delete(f"/v1/tokens/{issued['token_id']}", headers=ADMIN)
        assert r.status_code == 204
    async with intake(database_url) as (_, http):  # restarted (or another replica)
        assert (await http.get(PROTECTED, headers=bearer(issued["token"]))).status_code == 401
        [listed] = (await http.get("/v1/tokens", headers=ADMIN)).json()["tokens"]
        assert listed["token_id"] == issued["token_id"]
        assert listed["revoked_at"] is not None
        assert listed["issued_by"] == "bootstrap"
    # And with the follower running while Kafka is away: the table is enough.
    async with intake(database_url, live=True) as (app, http):
        assert access_of(app.state).catchup.following
        await until_ready(http)
        assert (await http.get(PROTECTED, headers=bearer(issued["token"]))).status_code == 401


async def until_ready(http: httpx.AsyncClient, seconds: float = 15) -> None:
    last: list[str] = []

    async def ready() -> bool:
        r = await http.get("/readyz")
        last[:] = [r.text]
        return r.status_code == 200

    try:
        await eventually(ready, timeout=seconds)
    except AssertionError as e:
        raise AssertionError(f"not ready within {seconds} s: {last}") from e


async def test_issued_tokens_wait_until_the_revocations_are_known(tmp_path: Path) -> None:
    async with intake(f"sqlite+aiosqlite:///{tmp_path}/i.db") as (app, http):
        issued = await mint(http, ADMIN, role="admin")
        catchup = access_of(app.state).catchup
        catchup.following = True  # a follower started and has not read the topic yet
        r = await http.get(PROTECTED, headers=bearer(issued["token"]))
        assert (r.status_code, r.headers["retry-after"]) == (503, "1"), r.text
        assert "retry" in r.json()["detail"]
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get(PROTECTED, headers=ADMIN)).status_code == 200  # bootstrap: yes
        catchup.kafka_away = True  # the table was loaded and Kafka is away
        assert (await http.get(PROTECTED, headers=bearer(issued["token"]))).status_code == 200
        catchup.kafka_away, catchup.caught_up = False, True
        assert (await http.get(PROTECTED, headers=bearer(issued["token"]))).status_code == 200


def test_the_rule_for_checking_issued_tokens() -> None:
    def knows(**state: bool) -> bool:
        c = Catchup()
        for name, value in state.items():
            setattr(c, name, value)
        return c.knows_revocations()

    assert not knows(loaded=False, caught_up=True)  # never without the table
    assert knows(loaded=True)  # no follower in this process: the table is all there is
    assert not knows(loaded=True, following=True)
    assert knows(loaded=True, following=True, caught_up=True)
    assert knows(loaded=True, following=True, kafka_away=True)


@pytest.mark.kafka
async def test_a_new_replica_learns_revocations_and_issuances_from_kafka(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    live = {"kafka_bootstrap": kafka_bootstrap, "relay_poll_seconds": 0.05}
    other = f"sqlite+aiosqlite:///{tmp_path}/other.db"
    async with intake(other, live=True, **live) as (_, http):  # another service's database
        issued = await mint(http, ADMIN, role="analyst", ttl_days=2)
        r = await http.delete(f"/v1/tokens/{issued['token_id']}", headers=ADMIN)
        assert r.status_code == 204, r.text
    async with intake(database_url, live=True, **live) as (_, http):
        await until_ready(http)  # read up to the end offsets seen at start
        r = await http.post("/v1/tokens", json={}, headers=bearer(issued["token"]))
        assert r.status_code == 401, r.text
        listed = (await http.get("/v1/tokens", params={"limit": 1000}, headers=ADMIN)).json()
        [mine] = [t for t in listed["tokens"] if t["token_id"] == issued["token_id"]]
        assert (mine["role"], mine["issued_by"]) == ("analyst", "bootstrap")
        assert mine["revoked_at"] is not None
    async with intake(database_url) as (_, http):  # restarted, Kafka away: its table knows
        r = await http.post("/v1/tokens", json={}, headers=bearer(issued["token"]))
        assert r.status_code == 401, r.text


async def test_lineage_expiry_cap_and_who_mints_admins(database_url: str) -> None:
    async with intake(database_url) as (_, http):
        parent = await mint(http, ADMIN, role="admin", ttl_days=1)
        child = await mint(http, bearer(parent["token"]), role="analyst", ttl_days=365)
        assert child["expires_at"] == parent["expires_at"]  # never outlives its issuer
        r = await http.post("/v1/tokens", json={"role": "admin"}, headers=bearer(parent["token"]))
        assert r.status_code == 403, r.text
        assert "bootstrap admin token or an OIDC admin" in r.json()["detail"]
        tokens = (await http.get("/v1/tokens", headers=ADMIN)).json()["tokens"]
        lineage = {t["token_id"]: t["issued_by"] for t in tokens}
        assert lineage == {parent["token_id"]: "bootstrap", child["token_id"]: parent["token_id"]}
        assert all("token" not in t for t in tokens)  # never the token text
        assert all(t["token_id"] not in (parent["token"], child["token"]) for t in tokens)
        for t in tokens:
            datetime.fromisoformat(t["expires_at"])


async def test_every_token_of_a_subject_is_revoked_at_once(database_url: str) -> None:
    rep = str(uuid.uuid4())
    async with intake(database_url) as (_, http):
        first = await mint(http, ADMIN, role="rep", subject=rep)
        second = await mint(http, ADMIN, role="rep", subject=rep.upper())
        other = await mint(http, ADMIN, role="rep", subject=str(uuid.uuid4()))
        r = await http.get("/v1/tokens", params={"subject": rep}, headers=ADMIN)
        assert {t["token_id"] for t in r.json()["tokens"]} == {
            first["token_id"],
            second["token_id"],
        }
        r = await http.delete("/v1/tokens", params={"subject": rep.upper()}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert sorted(r.json()["revoked"]) == sorted([first["token_id"], second["token_id"]])
        r = await http.delete("/v1/tokens", headers=ADMIN)
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "subject"
    async with intake(database_url) as (_, http):
        for t in (first, second):
            r = await http.post("/v1/tokens", json={}, headers=bearer(t["token"]))
            assert r.status_code == 401, t
        r = await http.post("/v1/tokens", json={}, headers=bearer(other["token"]))
        assert r.status_code == 403  # alive: a rep, not an admin


async def test_a_subject_with_control_characters_is_a_422(database_url: str) -> None:
    async with intake(database_url) as (_, http):
        for body in (
            {"role": "sales_tool", "subject": "crm\x00"},
            {"role": "analyst", "subject": "\n"},
        ):
            r = await http.post("/v1/tokens", json=body, headers=ADMIN)
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["field"] == "subject"
        for method in ("GET", "DELETE"):
            r = await http.request(
                method, "/v1/tokens", params={"subject": "a\x00b"}, headers=ADMIN
            )
            assert r.status_code == 422, r.text
