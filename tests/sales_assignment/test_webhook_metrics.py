"""`/metrics` counts webhook deliveries by result and the endpoints the sender disabled (the
alerts' inputs), against a real HTTP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from assignment_kit import add_rep, clock, handle, make_assigner, qualified
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadflow.http import health_router
from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker
from support.infra import free_port

pytestmark = pytest.mark.postgres

Counts = dict[tuple[str, str], float]


@pytest.fixture
async def answers() -> AsyncIterator[tuple[str, list[int]]]:
    """A real receiver's URL and the statuses it answers, in order (then 204)."""
    script: list[int] = []

    async def hook(request: Request) -> Response:
        await request.body()
        return Response(status_code=script.pop(0) if script else 204)

    port = free_port()
    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}/hook", script
    server.should_exit = True
    await task


@pytest.fixture
async def a(database_url: str) -> AsyncIterator[Assigner]:
    assigner = await make_assigner(
        database_url, webhook_retry_schedule=[0, 5], webhook_disable_after=1
    )
    yield assigner
    await assigner.rt.engine.dispose()


async def scrape() -> Counts:
    """(sample name, its label's value) -> value, as Prometheus reads `/metrics`."""
    app = FastAPI()
    app.include_router(health_router({}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as http:
        text = (await http.get("/metrics")).text
    return {
        (s.name, next(iter(s.labels.values()), "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("leadflow_webhook_") and s.name.endswith("_total")
    }


def delta(before: Counts, after: Counts) -> Counts:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k, 0.0)}


async def test_deliveries_are_counted_by_result_and_disabled_endpoints_by_reason(
    a: Assigner, answers: tuple[str, list[int]]
) -> None:
    url, script = answers
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    await add_rep(a, "Ann")
    endpoint, _ = await admin.create_endpoint(a, url, ["lead.assigned"])
    before = await scrape()
    script.append(410)  # the receiver is gone: the endpoint is disabled, the delivery waits
    await handle(a, qualified())
    assert await worker.deliver_due() == 1
    await admin.update_endpoint(a, endpoint.id, {"enabled": True})
    assert await worker.deliver_due() == 1  # answered 204 this time
    assert delta(before, await scrape()) == {
        ("leadflow_webhook_deliveries_total", "gone"): 1,
        ("leadflow_webhook_deliveries_total", "delivered"): 1,
        ("leadflow_webhook_endpoints_disabled_total", "gone"): 1,
    }

    script.extend([500, 503])  # retried once, then dead: the endpoint is disabled
    await handle(a, qualified())
    assert await worker.deliver_due() == 1
    clock(a).advance(5)
    assert await worker.deliver_due() == 1
    assert delta(before, await scrape()) == {
        ("leadflow_webhook_deliveries_total", "gone"): 1,
        ("leadflow_webhook_deliveries_total", "delivered"): 1,
        ("leadflow_webhook_deliveries_total", "retrying"): 1,
        ("leadflow_webhook_deliveries_total", "dead"): 1,
        ("leadflow_webhook_endpoints_disabled_total", "gone"): 1,
        ("leadflow_webhook_endpoints_disabled_total", "failing"): 1,
    }
    await worker.close()
