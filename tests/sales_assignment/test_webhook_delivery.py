"""Webhook delivery to a real HTTP receiver: signatures, retries, Retry-After, 410, order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from assignment_kit import add_rep, clock, deliveries, handle, make_assigner, qualified
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadflow.events import Envelope
from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker, retry_after_seconds
from sales_assignment.targets import target_problem
from support.infra import free_port

pytestmark = pytest.mark.postgres


@dataclass
class Receiver:
    """A real HTTP server in the test's loop; answers from a script, then 204."""

    port: int
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, status: int, headers: dict[str, str] | None = None, delay: float = 0) -> None:
        self.script.append((status, headers or {}, delay))

    async def hook(self, request: Request) -> Response:
        self.got.append((dict(request.headers), await request.body()))
        status, headers, delay = self.script.pop(0) if self.script else (204, {}, 0.0)
        await asyncio.sleep(delay)
        return Response(status_code=status, headers=headers)

    def types(self) -> list[str]:
        return [json.loads(b)["type"] for _, b in self.got]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(free_port())
    app = Starlette(routes=[Route("/hook", r.hook, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=r.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield r
    server.should_exit = True
    await task


@pytest.fixture
async def a(database_url: str) -> AsyncIterator[Assigner]:
    assigner = await make_assigner(
        database_url,
        webhook_retry_schedule=[0, 5, 30],
        webhook_disable_after=1,
        webhook_timeout_seconds=0.5,
    )
    yield assigner
    await assigner.rt.engine.dispose()


@pytest.fixture
async def worker(a: Assigner) -> AsyncIterator[DeliveryWorker]:
    w = DeliveryWorker(a.rt, a.settings, a.clock)
    yield w
    await w.close()


async def _endpoint(a: Assigner, r: Receiver) -> tuple[uuid.UUID, str]:
    row, secret = await admin.create_endpoint(a, r.url, ["lead.assigned", "lead.reassigned"])
    return row.id, secret


async def test_a_delivery_is_signed_and_verifiable(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    _, secret = await _endpoint(a, receiver)
    env = qualified()
    await handle(a, env)

    assert await worker.deliver_due() == 1

    [(headers, raw)] = receiver.got
    Webhook(secret).verify(raw, headers)  # raises unless the signature checks out
    [delivery] = await deliveries(a)
    assert headers["webhook-id"] == delivery.id
    assert raw == delivery.body
    doc = json.loads(raw)
    assert doc["type"] == "lead.assigned"
    assert doc["data"]["lead"]["lead_id"] == str(env.data.lead_id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 204)
    assert await worker.deliver_due() == 0


async def test_failures_are_retried_on_the_schedule_with_the_same_bytes(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    _, secret = await _endpoint(a, receiver)
    receiver.answer(500)
    receiver.answer(503)
    await handle(a, qualified())

    assert await worker.deliver_due() == 1
    [delivery] = await deliveries(a)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 500)
    assert delivery.next_attempt_at == clock(a).now + timedelta(seconds=5)
    assert await worker.deliver_due() == 0  # not due yet: nothing sent early

    clock(a).advance(5)
    assert await worker.deliver_due() == 1
    clock(a).advance(30)
    assert await worker.deliver_due() == 1

    [delivery] = await deliveries(a)
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert len({h["webhook-id"] for h, _ in receiver.got}) == 1
    assert len({raw for _, raw in receiver.got}) == 1
    for headers, raw in receiver.got:
        Webhook(secret).verify(raw, headers)


async def test_retry_after_is_honoured(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await _endpoint(a, receiver)
    receiver.answer(429, {"Retry-After": "120"})
    await handle(a, qualified())
    await worker.deliver_due()
    [delivery] = await deliveries(a)
    assert delivery.next_attempt_at == clock(a).now + timedelta(seconds=120)
    clock(a).advance(119)
    assert await worker.deliver_due() == 0
    clock(a).advance(1)
    assert await worker.deliver_due() == 1
    assert (await deliveries(a))[0].status == "delivered"


async def test_timeouts_are_retried_and_an_exhausted_delivery_is_dead_but_retryable(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    endpoint_id, _ = await _endpoint(a, receiver)
    receiver.answer(204, delay=1.0)  # slower than the 0.5 s timeout
    receiver.answer(502)
    receiver.answer(500)
    await handle(a, qualified())
    for wait in (0, 5, 30):
        clock(a).advance(wait)
        assert await worker.deliver_due() == 1

    [delivery] = await deliveries(a)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    listed = await admin.deliveries(a, endpoint_id, "dead", 10)
    assert [d.id for d in listed] == [delivery.id]
    endpoint = (await admin.list_endpoints(a))[0]
    assert not endpoint.enabled  # webhook_disable_after=1: one dead delivery disables it
    assert "in a row" in (endpoint.disabled_reason or "")

    await admin.update_endpoint(a, endpoint_id, {"enabled": True})
    await admin.retry_delivery(a, endpoint_id, delivery.id)
    assert await worker.deliver_due() == 1
    assert (await deliveries(a))[0].status == "delivered"


async def test_a_delivered_message_ends_its_endpoints_run_of_failures(
    database_url: str, receiver: Receiver
) -> None:
    """Only failures in a row count towards disabling: a success sets the count back to 0."""
    a = await make_assigner(
        database_url,
        webhook_retry_schedule=[0, 5, 30],
        webhook_disable_after=2,
        webhook_timeout_seconds=0.5,
    )
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    try:
        await add_rep(a, "Ann")
        await _endpoint(a, receiver)
        for status in (500, 502, 503):
            receiver.answer(status)
        await handle(a, qualified())
        for wait in (0, 5, 30):
            clock(a).advance(wait)
            assert await worker.deliver_due() == 1
        [endpoint] = await admin.list_endpoints(a)
        assert (endpoint.enabled, endpoint.consecutive_failures) == (True, 1)

        await handle(a, qualified())  # 204
        assert await worker.deliver_due() == 1
        [endpoint] = await admin.list_endpoints(a)
        assert (endpoint.enabled, endpoint.consecutive_failures) == (True, 0)
        assert sorted(d.status for d in await deliveries(a)) == ["dead", "delivered"]
    finally:
        await worker.close()
        await a.rt.engine.dispose()


async def test_a_late_outcome_of_a_send_sent_again_meanwhile_is_not_counted_twice(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    """The worker's outcome comes after its lease ran out and another worker sent and
    recorded the message: the row keeps that other worker's record."""
    env = await _routed_with_handover(a, worker, receiver)
    async with asyncio.timeout(10):
        while not worker._done:  # answered, not yet recorded
            await asyncio.sleep(0.01)
    other = DeliveryWorker(a.rt, a.settings, a.clock)
    try:
        clock(a).advance(31)  # the lease has run out
        assert await other.deliver_due() == 1
    finally:
        await other.close()
    [first] = await deliveries(a, env.data.lead_id)
    assert (first.status, first.attempts) == ("delivered", 1)

    clock(a).advance(1)
    await worker._pass()  # records its own outcome now
    [row] = await deliveries(a, env.data.lead_id)
    assert (row.status, row.attempts, row.delivered_at) == ("delivered", 1, first.delivered_at)
    assert len(receiver.got) == 2


async def test_410_disables_the_endpoint_and_loses_nothing(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    endpoint_id, _ = await _endpoint(a, receiver)
    receiver.answer(410)
    await handle(a, qualified())
    await worker.deliver_due()

    endpoint = (await admin.list_endpoints(a))[0]
    assert not endpoint.enabled
    assert "410" in (endpoint.disabled_reason or "")
    assert (await deliveries(a))[0].status == "failed"
    clock(a).advance(3600)
    assert await worker.deliver_due() == 0  # a disabled endpoint is not called

    await admin.update_endpoint(a, endpoint_id, {"enabled": True})
    assert await worker.deliver_due() == 1
    assert (await deliveries(a))[0].status == "delivered"


async def test_a_leads_messages_arrive_in_order(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await add_rep(a, "Bob")
    await _endpoint(a, receiver)
    receiver.answer(429, {"Retry-After": "600"})  # the lead's first message must wait
    env = qualified()
    await handle(a, env)
    await worker.deliver_due()
    clock(a).advance(61)
    assert await a.check_sla() == 1  # a lead.reassigned is now waiting behind lead.assigned
    other = qualified()
    await handle(a, other)

    assert await worker.deliver_due() == 1  # only the other lead: ours waits its turn
    clock(a).advance(600)
    assert await worker.deliver_due() == 1  # lead.assigned, at last
    assert await worker.deliver_due() == 1  # then lead.reassigned
    ours = [
        json.loads(raw)["type"]
        for _, raw in receiver.got
        if json.loads(raw)["data"]["lead"]["lead_id"] == str(env.data.lead_id)
    ]
    assert ours == ["lead.assigned", "lead.assigned", "lead.reassigned"]


async def test_the_running_worker_sends_at_once_and_a_slow_receiver_holds_up_only_its_own(
    a: Assigner, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await _endpoint(a, receiver)
    receiver.answer(204, delay=2.0)  # the first lead's receiver hangs past the 0.5 s timeout
    running = DeliveryWorker(a.rt, a.settings, a.clock, doorbell=a.doorbell)
    task = asyncio.create_task(running.run())
    try:
        async with asyncio.timeout(30):  # a broken worker fails the test, not hangs it
            await _slow_and_fast(a, receiver)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _slow_and_fast(a: Assigner, receiver: Receiver) -> None:
    slow, fast = qualified(), qualified()
    await handle(a, slow)  # the commit rings the doorbell: no polling wait
    while not receiver.got:
        await asyncio.sleep(0.01)
    await handle(a, fast)
    while not (await deliveries(a, fast.data.lead_id))[0].delivered_at:
        await asyncio.sleep(0.01)
    # Delivered and recorded while the slow one was still waiting for its answer.
    [first] = await deliveries(a, slow.data.lead_id)
    assert (first.status, first.attempts) == ("pending", 0)
    while (await deliveries(a, slow.data.lead_id))[0].attempts == 0:
        await asyncio.sleep(0.05)
    [first] = await deliveries(a, slow.data.lead_id)
    assert first.status == "failed"
    assert "timeout" in (first.last_error or "")


async def test_prod_refuses_private_targets_unless_allowed() -> None:
    for url in (
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/",
        "http://[::1]/",
    ):
        assert await target_problem(url, env="prod", allowed_hosts=[]) is not None
        assert await target_problem(url, env="dev", allowed_hosts=[]) is None
    assert await target_problem("http://localhost:8080/x", env="prod", allowed_hosts=[])
    assert (
        await target_problem("http://localhost/x", env="prod", allowed_hosts=["localhost"]) is None
    )
    assert await target_problem("http://8.8.8.8/hook", env="prod", allowed_hosts=[]) is None
    assert await target_problem("ftp://example.com/", env="dev", allowed_hosts=[]) is not None


def test_retry_after_reads_seconds_and_dates() -> None:
    now = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("Mon, 03 Mar 2025 10:01:00 GMT", now) == 60
    assert retry_after_seconds("soon", now) is None


async def _routed_with_handover(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> Envelope:
    """A rep, an endpoint, `worker` as the process's own; one lead routed, until the
    receiver has its webhook. Returns the lead's event."""
    await add_rep(a, "Ann")
    await _endpoint(a, receiver)
    a.deliveries = worker
    env = qualified()
    await handle(a, env)
    async with asyncio.timeout(10):
        while not receiver.got:
            await asyncio.sleep(0.01)
    return env


async def test_a_routing_commit_hands_its_new_deliveries_to_the_worker_with_no_claim(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    """The worker's loop is not even running: the commit itself starts the send; the row
    was inserted leased to this worker, and the outcome is recorded by its next pass."""
    env = await _routed_with_handover(a, worker, receiver)
    [row] = await deliveries(a, env.data.lead_id)
    assert (row.status, row.attempts) == ("pending", 0)  # sent, not yet recorded
    assert row.next_attempt_at > a.clock() + timedelta(seconds=30)  # leased, not due
    assert await worker.deliver_due() == 0  # nothing for a claim
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(10):
            while (await deliveries(a, env.data.lead_id))[0].status != "delivered":
                await asyncio.sleep(0.02)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(receiver.got) == 1


async def test_a_routing_transaction_that_rolls_back_sends_nothing(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await _endpoint(a, receiver)
    a.deliveries = worker
    env = qualified()

    async def route_then_fail() -> None:
        async with a.rt.transaction() as uow:
            await a.on_qualified_many(uow, [env])
            raise RuntimeError("the transaction fails after routing")

    with pytest.raises(RuntimeError):
        await route_then_fail()
    await asyncio.sleep(0.3)
    assert receiver.got == []
    assert await deliveries(a, env.data.lead_id) == []


async def test_a_handed_over_delivery_cut_short_is_sent_again_once_its_lease_runs_out(
    a: Assigner, worker: DeliveryWorker, receiver: Receiver
) -> None:
    """As if the process died mid-send: the row stays leased, then any worker claims it and
    sends the same message (same webhook-id) again."""
    receiver.answer(204, delay=0.4)  # still waiting for the answer when the process "dies"
    env = await _routed_with_handover(a, worker, receiver)
    await worker._wind_down()  # the send in flight is cut short, nothing recorded
    other = DeliveryWorker(a.rt, a.settings, a.clock)
    try:
        assert await other.deliver_due() == 0  # still leased
        clock(a).advance(31)  # the timeout (0.5 s) and the margin (30 s) have passed
        assert await other.deliver_due() == 1
    finally:
        await other.close()
    [row] = await deliveries(a, env.data.lead_id)
    assert row.status == "delivered"
    ids = [headers["webhook-id"] for headers, _ in receiver.got]
    assert len(ids) == 2
    assert ids[0] == ids[1] == row.id
