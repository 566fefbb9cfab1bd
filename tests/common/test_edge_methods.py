"""The edge's metrics: a made-up HTTP method is counted as `other`, never as its own series."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from leadflow.edge import Edge


async def hello(_: Request) -> PlainTextResponse:
    return PlainTextResponse("hi")


def count(method: str) -> float:
    labels = {"method": method, "route": "/edge-methods", "status": "405"}
    return REGISTRY.get_sample_value("leadflow_http_requests_total", labels) or 0.0


async def test_methods_outside_the_standard_set_are_counted_as_other() -> None:
    app = Starlette(routes=[Route("/edge-methods", hello, methods=["GET"])])
    edge = Edge(app, tracer=trace.get_tracer("test"), max_body_bytes=1024)
    before = count("other")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=edge), base_url="http://t") as h:
        assert (await h.get("/edge-methods")).status_code == 200
        for n in range(50):
            assert (await h.request(f"M{n:03d}" + "X" * 40, "/edge-methods")).status_code == 405
        assert (await h.request("PATCH", "/edge-methods")).status_code == 405
    assert count("other") == before + 50
    assert count("PATCH") >= 1
    assert count("M007" + "X" * 40) == 0.0
    series = {
        s.labels["method"] for m in REGISTRY.collect() for s in m.samples if "method" in s.labels
    }
    assert not any(method.startswith("M0") for method in series)
