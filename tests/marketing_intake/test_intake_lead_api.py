"""The lead API beyond one lead, on SQLite and PostgreSQL: batches, keys, limits, races."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from leadflow.events import LeadCaptured
from marketing_intake import handlers, handlers_keys
from support.apps import ADMIN, client, outbox, runtime
from support.intake import MakeApp, api_key


async def test_a_batch_answers_per_lead_and_stores_the_valid_ones_together(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        leads = [
            {"email": "one@example.com", "country": "France"},
            {"email": "not-an-email", "country": "Narnia"},
            {"first_name": 42},
            {"email": "ONE@example.com", "utm_campaign": "again"},
            {"email": "two@example.com"},
        ]
        r = await http.post("/v1/leads/batch", json={"leads": leads}, headers=key)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["accepted"], body["invalid"]) == (3, 2)
        results = body["results"]
        assert [x["index"] for x in results] == [0, 1, 2, 3, 4]
        assert [x["status"] for x in results] == [
            "accepted",
            "invalid",
            "invalid",
            "accepted",
            "accepted",
        ]
        assert {e["field"] for e in results[1]["errors"]} == {"email", "country"}
        assert {e["field"] for e in results[2]["errors"]} == {"email", "first_name"}
        assert results[3]["duplicate"] is True
        assert results[3]["lead_id"] == results[0]["lead_id"]
        assert results[1]["lead_id"] is None
        events = [e.data for e in await outbox(app) if isinstance(e.data, LeadCaptured)]
        assert [e.touch for e in events] == [1, 2, 1]
        too_many = {"leads": [{"email": f"u{i}@example.com"} for i in range(501)]}
        r = await http.post("/v1/leads/batch", json=too_many, headers=key)
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["leads"]
        assert len(await outbox(app)) == 3
        full = {"leads": [{"email": f"u{i}@example.com"} for i in range(500)]}
        r = await http.post("/v1/leads/batch", json=full, headers=key)
        assert r.json()["accepted"] == 500


async def test_keys_are_listed_without_secrets_and_revoked(make_app: MakeApp) -> None:
    app = await make_app()
    async with client(app) as http:
        created = (await http.post("/v1/api-keys", json={"name": "crm"}, headers=ADMIN)).json()
        key = {"Authorization": f"Bearer {created['key']}"}
        # An intake key is no access token: unknown to admin routes.
        assert (await http.get("/v1/api-keys", headers=key)).status_code == 401
        listed = (await http.get("/v1/api-keys", headers=ADMIN)).json()
        assert [k["id"] for k in listed] == [created["id"]]
        assert "key" not in listed[0]
        assert created["key"] not in str(listed)
        assert (
            await http.post("/v1/leads", json={"email": "a@example.com"}, headers=key)
        ).status_code == 202
        assert (
            await http.delete(f"/v1/api-keys/{created['id']}", headers=ADMIN)
        ).status_code == 204
        assert (
            await http.delete(f"/v1/api-keys/{created['id']}", headers=ADMIN)
        ).status_code == 204
        r = await http.post("/v1/leads", json={"email": "b@example.com"}, headers=key)
        assert r.status_code == 401
        [revoked] = (await http.get("/v1/api-keys", headers=ADMIN)).json()
        assert revoked["revoked_at"] is not None
        unknown = "/v1/api-keys/00000000-0000-4000-8000-000000000000"
        assert (await http.delete(unknown, headers=ADMIN)).status_code == 404


async def test_each_api_key_is_rate_limited_with_retry_after(make_app: MakeApp) -> None:
    app = await make_app(rate_limit_key_per_second=0.5, rate_limit_key_burst=2)
    async with client(app) as http:
        key, other = await api_key(http, "a"), await api_key(http, "b")
        codes = [
            (
                await http.post("/v1/leads", json={"email": f"k{i}@example.com"}, headers=key)
            ).status_code
            for i in range(3)
        ]
        assert codes == [202, 202, 429]
        r = await http.post(
            "/v1/leads/batch", json={"leads": [{"email": "z@example.com"}]}, headers=key
        )
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "2"
        r = await http.post("/v1/leads", json={"email": "o@example.com"}, headers=other)
        assert r.status_code == 202


async def test_two_simultaneous_requests_with_one_idempotency_key_get_one_answer(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        headers = {**key, "Idempotency-Key": "import-7"}
        for attempt in range(3):
            headers["Idempotency-Key"] = f"import-{attempt}"
            lead = {"email": f"race{attempt}@example.com"}
            answers = await asyncio.gather(
                *(http.post("/v1/leads", json=lead, headers=headers) for _ in range(4))
            )
            assert {a.status_code for a in answers} == {202}, [a.text for a in answers]
            assert len({a.json()["lead_id"] for a in answers}) == 1
            assert {a.json()["duplicate"] for a in answers} == {False}
        # Whatever the interleaving, the database has the last word: a twin that passed the
        # replay check commits nothing and fails on the key (which the route then replays).
        owner = (await http.get("/v1/api-keys", headers=ADMIN)).json()[0]["id"]
        twin = handlers.Remember(owner, "import-0", "whatever")
        with pytest.raises(IntegrityError):
            await handlers.accept_lead(
                runtime(app), {"email": "race0@example.com"}, source="api", remember=twin
            )
        async with runtime(app).sessions() as s:
            touches = (await s.execute(text("SELECT sum(touches) FROM leads"))).scalar_one()
        assert touches == 3
        assert len(await outbox(app)) == 3


async def test_simultaneous_leads_share_transactions_and_each_gets_its_own_answer(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        emails = [f"crowd{i}@example.com" for i in range(30)] + ["Crowd7@Example.com"]
        answers = await asyncio.gather(
            *(http.post("/v1/leads", json={"email": e}, headers=key) for e in emails)
        )
    assert {a.status_code for a in answers} == {202}
    bodies = [a.json() for a in answers]
    assert len({b["lead_id"] for b in bodies}) == 30  # the same person twice is one lead
    twins = [b for b, e in zip(bodies, emails, strict=True) if e.lower() == "crowd7@example.com"]
    assert twins[0]["lead_id"] == twins[1]["lead_id"]
    assert sorted(b["duplicate"] for b in twins) == [False, True]
    events = [e.data for e in await outbox(app) if isinstance(e.data, LeadCaptured)]
    assert len(events) == 31
    by_lead = {str(e.lead_id): e for e in events if e.duplicate}
    assert by_lead[twins[0]["lead_id"]].touch == 2
    assert (
        1 <= handlers.capture_group(runtime(app)).flushes < 31
    )  # shared: fewer transactions than leads


async def test_requests_whose_key_left_the_cache_share_one_lookup(make_app: MakeApp) -> None:
    app = await make_app()
    rt = runtime(app)
    async with client(app) as http:
        key = (await api_key(http))["Authorization"].removeprefix("Bearer ")
    lookups: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM api_keys" in statement:
            lookups.append(statement)

    event.listen(rt.engine.sync_engine, "before_cursor_execute", count)
    try:
        handlers_keys._live_keys.clear()  # as when its entry runs out
        found = await asyncio.gather(*(handlers_keys.authenticate(rt, key) for _ in range(20)))
        assert len(lookups) == 1
        assert None not in found
        assert {k.id for k in found if k is not None} == {found[0].id}
        await handlers_keys.authenticate(rt, key)
        assert len(lookups) == 1  # cached now
    finally:
        event.remove(rt.engine.sync_engine, "before_cursor_execute", count)


async def test_a_lookup_under_way_when_its_key_is_revoked_leaves_it_revoked(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = await make_app()
    rt = runtime(app)
    async with client(app) as http:
        key = (await api_key(http))["Authorization"].removeprefix("Bearer ")
        [listed] = (await http.get("/v1/api-keys", headers=ADMIN)).json()
    read, gate = asyncio.Event(), asyncio.Event()
    real = handlers_keys._read

    async def slow_read(rt: Any, digest: str) -> Any:
        found = await real(rt, digest)  # the real read, then a pause before it is used
        read.set()
        await gate.wait()
        return found

    monkeypatch.setattr(handlers_keys, "_read", slow_read)
    handlers_keys._live_keys.clear()
    early = asyncio.create_task(handlers_keys.authenticate(rt, key))
    await read.wait()  # it has read the key live
    await handlers_keys.revoke_api_key(rt, uuid.UUID(listed["id"]))
    monkeypatch.setattr(handlers_keys, "_read", real)
    assert await handlers_keys.authenticate(rt, key) is None  # does not join the old read
    gate.set()
    assert (await early) is not None  # it began before the revocation
    assert await handlers_keys.authenticate(rt, key) is None  # and was not cached live
