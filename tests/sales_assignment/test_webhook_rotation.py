"""Secret rotation, re-enabling an endpoint, and the worker woken by a commit; both DBs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from assignment_kit import add_rep, clock, deliveries, handle, make_assigner, qualified
from fastapi import FastAPI
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from leadflow.secretbox import secret_box
from leadflow.webhooks import sign
from sales_assignment import admin
from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker
from sales_assignment.settings import AssignmentSettings
from support.apps import ADMIN, build, client, dispose
from support.kafka_tools import eventually
from support.receiver import Receiver

pytestmark = pytest.mark.postgres

GRACE = 3600.0


@pytest.fixture
async def a(database_url: str) -> AsyncIterator[Assigner]:
    assigner = await make_assigner(
        database_url,
        webhook_retry_schedule=[0, 5, 30],
        webhook_disable_after=1,
        webhook_secret_grace_seconds=GRACE,
        webhook_poll_seconds=30.0,  # far longer than any wait below: only a wake explains speed
    )
    yield assigner
    await assigner.rt.engine.dispose()


@pytest.fixture
async def worker(a: Assigner) -> AsyncIterator[DeliveryWorker]:
    w = DeliveryWorker(a.rt, a.settings, a.clock, doorbell=a.doorbell)
    yield w
    await w.close()


async def test_both_secrets_sign_during_the_grace_period_then_only_the_new_one(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    endpoint, old = await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    new, until = await admin.rotate_secret(a, endpoint.id)
    assert new.startswith("whsec_")
    assert new != old
    assert until == clock(a).now + timedelta(seconds=GRACE)

    await handle(a, qualified())
    assert await worker.deliver_due() == 1
    got = receiver.snapshot()[-1]
    first, second = got.headers["webhook-signature"].split(" ")
    msg_id, ts = got.headers["webhook-id"], int(got.headers["webhook-timestamp"])
    assert (first, second) == (sign(new, msg_id, ts, got.body), sign(old, msg_id, ts, got.body))
    Webhook(new).verify(got.body, got.headers)  # a receiver on either secret accepts it
    Webhook(old).verify(got.body, got.headers)

    clock(a).advance(GRACE)
    await handle(a, qualified())
    assert await worker.deliver_due() == 1
    got = receiver.snapshot()[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(got.body, got.headers)


async def test_rotating_again_drops_the_oldest_secret(a: Assigner) -> None:
    endpoint, first = await admin.create_endpoint(a, "http://127.0.0.1:9/x", ["lead.assigned"])
    second, _ = await admin.rotate_secret(a, endpoint.id)
    third, _ = await admin.rotate_secret(a, endpoint.id)
    [row] = await admin.list_endpoints(a)
    assert [secret_box(a.settings).open(s) for s in row.secrets] == [third, second]
    assert not {first, second, third} & set(row.secrets)  # stored sealed


async def test_re_enabling_resets_failures_and_sends_everything_that_waited(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    endpoint, secret = await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    receiver.fail_with = 500
    dead_lead = qualified()
    await handle(a, dead_lead)
    for wait in (0, 5, 30):
        clock(a).advance(wait)
        assert await worker.deliver_due() == 1
    [row] = await admin.list_endpoints(a)
    assert (row.enabled, row.consecutive_failures) == (False, 1)
    assert [d.status for d in await deliveries(a)] == ["dead"]

    held = qualified()
    await handle(a, held)  # while disabled: staged, held, not sent
    assert [d.status for d in await deliveries(a, held.data.lead_id)] == ["pending"]
    assert await worker.deliver_due() == 0

    receiver.fail_with = None
    before = len(receiver.snapshot())
    await admin.update_endpoint(a, endpoint.id, {"enabled": True})
    [row] = await admin.list_endpoints(a)
    assert (row.enabled, row.consecutive_failures, row.disabled_reason) == (True, 0, None)
    assert {(d.status, d.attempts) for d in await deliveries(a)} == {("pending", 0)}
    assert await worker.deliver_due() == 2
    assert {d.status for d in await deliveries(a)} == {"delivered"}
    sent = receiver.payloads()[before:]
    assert {doc["data"]["lead"]["lead_id"] for _, doc in sent} == {
        str(dead_lead.data.lead_id),
        str(held.data.lead_id),
    }
    for got, _ in sent:
        Webhook(secret).verify(got.body, got.headers)


async def test_a_commit_that_stages_a_delivery_wakes_the_worker(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.2)  # the worker is now asleep for webhook_poll_seconds (30 s)
        latencies = []
        for _ in range(3):
            n = len(receiver.snapshot())
            started = time.time()
            await handle(a, qualified())
            await eventually(lambda n=n: len(receiver.snapshot()) > n, timeout=5)
            latencies.append(receiver.snapshot()[-1].at - started)
        # Polling alone would take up to 30 s; woken, it is one HTTP round trip.
        assert max(latencies) < 1.0, latencies
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    app = await build(AssignmentSettings, build_app, MIGRATIONS, database_url)
    yield app
    await dispose(app)


async def test_rotation_and_re_enable_over_http(app: FastAPI) -> None:
    async with client(app) as http:
        created = (
            await http.post(
                "/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x"}, headers=ADMIN
            )
        ).json()
        url = f"/v1/webhook-endpoints/{created['id']}"
        assert (await http.post(f"{url}/rotate-secret")).status_code == 401
        rotated = await http.post(f"{url}/rotate-secret", headers=ADMIN)
        assert rotated.status_code == 200
        doc = rotated.json()
        assert doc["secret"].startswith("whsec_")
        assert doc["secret"] != created["secret"]
        assert doc["previous_valid_until"] is not None
        [listed] = (await http.get("/v1/webhook-endpoints", headers=ADMIN)).json()
        assert listed["previous_secret_valid_until"] == doc["previous_valid_until"]
        assert "secret" not in listed
        assert "secrets" not in listed
        missing = await http.post(
            "/v1/webhook-endpoints/00000000-0000-0000-0000-000000000000/rotate-secret",
            headers=ADMIN,
        )
        assert missing.status_code == 404
        off = await http.patch(url, json={"enabled": False}, headers=ADMIN)
        assert (off.json()["enabled"], off.json()["disabled_reason"]) == (
            False,
            "disabled by an operator",
        )
        on = await http.patch(url, json={"enabled": True}, headers=ADMIN)
        assert (on.json()["enabled"], on.json()["consecutive_failures"]) == (True, 0)
