"""The lead API over HTTP, on SQLite and PostgreSQL: auth, outbox, idempotency, erasure."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import insert, select, text, update

from leadflow.db import create_engine
from leadflow.events import LeadCaptured, LeadErased
from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.models import IdempotentResponse
from marketing_intake.settings import IntakeSettings
from support.apps import ADMIN, build, client, dispose, outbox, runtime


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(IntakeSettings, build_app, MIGRATIONS, database_url, max_body_bytes=4096)
    yield a
    await dispose(a)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


async def new_key(http: httpx.AsyncClient) -> dict[str, str]:
    r = await http.post("/v1/api-keys", json={"name": "website"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


LEAD = {
    "email": "Ada.Lovelace@Example.com",
    "first_name": " Ada ",
    "phone": "030 901820",
    "country": "Germany",
    "company_size": "50-200",
    "landing_page": "https://example.com/p?utm_source=linkedin&utm_campaign=q4",
    "favourite_colour": "green",
}


async def test_api_keys_need_the_admin_token(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/api-keys", json={"name": "x"})).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    r = await http.post("/v1/api-keys", json={"name": "x"}, headers=wrong)
    assert r.status_code == 401  # an unknown token (contract); 403 is for another role
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_key_is_shown_once_and_stored_only_hashed(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    r = await http.post("/v1/api-keys", json={"name": "crm"}, headers=ADMIN)
    plaintext = r.json()["key"]
    assert plaintext.startswith("lf_sk_")
    async with runtime(app).sessions() as s:
        stored = (await s.execute(text("SELECT key_hash, prefix FROM api_keys"))).one()
    assert plaintext not in stored.key_hash
    assert plaintext.startswith(stored.prefix)


async def test_an_accepted_lead_is_stored_with_its_event_normalised(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    r = await http.post("/v1/leads", json=LEAD, headers=key)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "accepted"
    assert body["duplicate"] is False
    [event] = await outbox(app)
    assert isinstance(event.data, LeadCaptured)
    lead = event.data.lead
    assert str(lead.lead_id) == body["lead_id"]
    assert lead.email == "ada.lovelace@example.com"
    assert lead.first_name == "Ada"
    assert lead.phone == "+4930901820"
    assert lead.country == "DE"
    assert lead.company_size == 50
    assert lead.attribution.utm_source == "linkedin"
    assert lead.attribution.source == "api"
    assert lead.custom == {"favourite_colour": "green"}
    exported = await http.get(f"/v1/leads/{body['lead_id']}", headers=key)
    assert exported.status_code == 200
    assert exported.json()["lead"]["email"] == "ada.lovelace@example.com"


async def test_every_bad_field_is_named_in_one_422(http: httpx.AsyncClient, app: FastAPI) -> None:
    key = await new_key(http)
    r = await http.post(
        "/v1/leads", json={"email": "not-an-email", "country": "Narnia"}, headers=key
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {"email", "country"}
    r = await http.post("/v1/leads", json={"first_name": "Ada"}, headers=key)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["email"]
    assert await outbox(app) == []


async def test_the_lead_api_refuses_missing_and_unknown_keys(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/leads", json=LEAD)).status_code == 401
    bad = {"Authorization": "Bearer lf_sk_unknown"}
    assert (await http.post("/v1/leads", json=LEAD, headers=bad)).status_code == 401


async def test_an_idempotency_key_replays_the_first_answer(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    headers = {**key, "Idempotency-Key": "order-42"}
    first = await http.post("/v1/leads", json=LEAD, headers=headers)
    again = await http.post("/v1/leads", json=LEAD, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert len(await outbox(app)) == 1
    other = await http.post("/v1/leads", json={**LEAD, "first_name": "Eve"}, headers=headers)
    assert other.status_code == 409


async def test_an_idempotency_key_is_remembered_for_its_ttl_only(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    headers = {**key, "Idempotency-Key": "order-43"}
    assert (await http.post("/v1/leads", json=LEAD, headers=headers)).status_code == 202
    async with runtime(app).transaction() as uow:  # remembered 25 hours ago (the TTL is 24)
        s = uow.session
        await s.execute(
            update(IdempotentResponse).values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )
    later = await http.post("/v1/leads", json={**LEAD, "first_name": "Eve"}, headers=headers)
    assert later.status_code == 202  # a new request, not a 409 for another body
    assert "idempotent-replayed" not in later.headers
    assert len(await outbox(app)) == 2
    again = await http.post("/v1/leads", json={**LEAD, "first_name": "Eve"}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == later.json()
    assert len(await outbox(app)) == 2


async def test_a_stale_replay_forgets_its_own_key_only(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    headers = {**key, "Idempotency-Key": "order-44"}
    assert (await http.post("/v1/leads", json=LEAD, headers=headers)).status_code == 202
    stale = datetime.now(UTC) - timedelta(hours=25)  # the TTL is 24
    async with runtime(app).transaction() as uow:
        s = uow.session
        await s.execute(update(IdempotentResponse).values(created_at=stale))
        await s.execute(
            insert(IdempotentResponse).values(
                owner="other", key="k", request_hash="h", status=202, body={}, created_at=stale
            )
        )
    later = await http.post("/v1/leads", json={**LEAD, "first_name": "Eve"}, headers=headers)
    assert later.status_code == 202
    assert "idempotent-replayed" not in later.headers
    async with runtime(app).sessions() as s:
        owners = sorted(await s.scalars(select(IdempotentResponse.owner)))
    # A request deletes one row, never a backlog: the purge worker takes the other stale key.
    assert len(owners) == 2
    assert "other" in owners


async def test_the_same_person_again_is_a_new_touch_of_the_same_lead(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    first = (await http.post("/v1/leads", json=LEAD, headers=key)).json()
    second_body = {**LEAD, "email": "ADA.LOVELACE@example.com", "utm_campaign": "retarget"}
    second = (await http.post("/v1/leads", json=second_body, headers=key)).json()
    assert second == {**first, "duplicate": True}
    events = await outbox(app)
    assert [e.data.touch for e in events if isinstance(e.data, LeadCaptured)] == [1, 2]
    assert events[1].data.lead.attribution.utm_campaign == "retarget"  # type: ignore[union-attr]


async def test_an_oversized_body_gets_413(http: httpx.AsyncClient) -> None:
    key = await new_key(http)
    huge = {**LEAD, "notes": "x" * 10_000}
    r = await http.post("/v1/leads", json=huge, headers=key)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads/batch"])
async def test_an_oversized_body_without_a_length_gets_413(
    http: httpx.AsyncClient, path: str
) -> None:
    """Streamed in chunks, so only the bytes tell: a route whose body FastAPI reads (the
    batch) would otherwise answer 400 "error parsing the body"."""
    key = await new_key(http)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"leads": [{"email": "ada@example.com", "notes": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}]}'

    r = await http.post(path, content=chunks(), headers={**key, "content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413


async def test_erasure_removes_personal_data_and_publishes_once(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    key = await new_key(http)
    lead_id = (await http.post("/v1/leads", json=LEAD, headers=key)).json()["lead_id"]
    # An intake key is no access token: erasing needs an admin one.
    assert (await http.delete(f"/v1/leads/{lead_id}", headers=key)).status_code == 401
    assert (await http.delete(f"/v1/leads/{lead_id}", headers=ADMIN)).status_code == 202
    assert (await http.delete(f"/v1/leads/{lead_id}", headers=ADMIN)).status_code == 202
    exported = (await http.get(f"/v1/leads/{lead_id}", headers=ADMIN)).json()
    assert exported["lead"] is None
    assert exported["erased_at"] is not None
    async with runtime(app).sessions() as s:
        raw = (await s.execute(text("SELECT data FROM leads"))).scalar_one()
    # The person's values, not the letters "ada" (a lead id in hex may hold them).
    for personal in ("lovelace", '"ada"', "901820", "favourite_colour"):
        assert personal not in str(raw).lower(), personal
    erased = [e for e in await outbox(app) if isinstance(e.data, LeadErased)]
    assert len(erased) == 1
    missing = await http.delete(f"/v1/leads/{uuid.uuid4()}", headers=ADMIN)
    assert missing.status_code == 404


async def test_a_database_outage_answers_503_never_202(
    http: httpx.AsyncClient, app: FastAPI, database_url: str, tmp_path: Path
) -> None:
    key = await new_key(http)
    rt = runtime(app)
    await rt.engine.dispose()
    # Point the engine at a database that cannot be reached: every new connection fails.
    dead_url = (
        "postgresql+asyncpg://nobody@127.0.0.1:1/none"
        if database_url.startswith("postgresql")
        else f"sqlite+aiosqlite:///{tmp_path}"  # a folder: the file cannot be opened
    )
    rt.engine = create_engine(dead_url)
    rt.sessions.configure(bind=rt.engine)
    r = await http.post("/v1/leads", json=LEAD, headers=key)
    assert r.status_code == 503
    assert r.headers["retry-after"]
