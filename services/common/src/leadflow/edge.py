"""The one ASGI middleware every request passes (server span, body limit, metrics), and the
client address behind trusted proxies.

One layer rather than three: each layer is a coroutine call and a wrapped `send` per request,
and on the lead API that added up to more than the bare framework's own work.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence

from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from prometheus_client import Counter, Histogram
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflow.http import problem_response
from leadflow.observability import HTTP_LATENCY, HTTP_REQUESTS
from leadflow.tracing import W3C

# The methods of RFC 9110 and PATCH; metrics and span names say "other" for any other.
_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
_OTHER = "other"


class _TooLarge(Exception):
    pass


class Edge:
    """Per HTTP request: a server span, child of its `traceparent` and current while it runs;
    413 for a body over `max_body_bytes`, declared or streamed (nothing is buffered); its
    count and latency by route template (raw paths could carry personal data)."""

    def __init__(self, app: ASGIApp, *, tracer: Tracer, max_body_bytes: int) -> None:
        self.app = app
        self.tracer = tracer
        self.max_body_bytes = max_body_bytes
        self._series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        carrier: dict[str, str] = {}
        declared = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name in (b"traceparent", b"tracestate"):
                carrier[name.decode("latin-1")] = value.decode("latin-1")
        method = scope["method"]
        if method not in _METHODS:  # any token is a method: made-up ones must not add series
            method = _OTHER
        status = 500
        parent = W3C.extract(carrier) if carrier else None
        attributes = {
            "http.request.method": method if method != _OTHER else "_OTHER",  # as semconv says
            "url.scheme": scope.get("scheme", "http"),
        }
        with self.tracer.start_as_current_span(
            method, parent, kind=SpanKind.SERVER, attributes=attributes
        ) as span:

            async def answer(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            try:
                if declared.isdigit() and int(declared) > self.max_body_bytes:
                    await self._too_large(scope, receive, answer)
                else:
                    body = _Limited(self, scope, receive, answer)
                    try:
                        await self.app(scope, body.receive, body.send)
                    except _TooLarge:
                        await body.too_large()
            finally:
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                self._observe(method, route or "unmatched", status, started)

    def _observe(self, method: str, route: str, status: int, started: float) -> None:
        key = (method, route, str(status))
        series = self._series.get(key)
        if series is None:  # labels() looks up and locks each time; the series are few
            series = (HTTP_REQUESTS.labels(*key), HTTP_LATENCY.labels(method, route))
            self._series[key] = series
        series[0].inc()
        series[1].observe(time.perf_counter() - started)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "Payload Too Large", f"The body may be at most {self.max_body_bytes} bytes."
        )
        await response(scope, receive, send)


class _Limited:
    """One request's body, counted as it arrives: past the limit the answer is 413, whatever
    the app makes of the overflow (FastAPI answers a body it could not read with 400)."""

    def __init__(self, edge: Edge, scope: Scope, receive: Receive, answer: Send) -> None:
        self._edge, self._scope, self._receive, self._answer = edge, scope, receive, answer
        self._seen = 0
        self._begun = False  # the app's answer has started: too late for a 413
        self._overflowed = False
        self._answered = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self._seen += len(message.get("body", b""))
            if self._seen > self._edge.max_body_bytes:
                self._overflowed = not self._begun
                raise _TooLarge
        return message

    async def send(self, message: Message) -> None:
        if not self._overflowed:
            self._begun = self._begun or message["type"] == "http.response.start"
            await self._answer(message)
        elif message["type"] == "http.response.start":
            await self.too_large()  # instead of the app's answer, whose body is dropped

    async def too_large(self) -> None:
        """Answer 413 once, if the body overflowed before the app's answer began."""
        if self._overflowed and not self._answered:
            self._answered = True
            await self._edge._too_large(self._scope, self._receive, self._answer)


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_V6_PREFIX = 64  # what one subscriber gets (RFC 6177): limits count IPv6 clients per /64
_MAX_HOPS = 32  # a longer chain is not ours: no deployment has that many proxies


def client_address(request: HTTPConnection) -> str:
    """The client's address: the peer's, or behind `LEADFLOW_TRUSTED_PROXIES` the right-most
    `X-Forwarded-For` hop that is not itself a trusted proxy (what rate limits key on)."""
    peer = request.client.host if request.client else ""
    settings = getattr(request.app.state, "settings", None)  # an app without: trust no one
    trusted: Sequence[IPNetwork] = settings.trusted_proxies if settings is not None else ()
    return address_behind(peer, request.headers.getlist("x-forwarded-for"), trusted)


def client_key(request: HTTPConnection) -> str:
    """What every per-address limit keys on: the client's address, an IPv6 one as its /64."""
    return limit_key(client_address(request))


def limit_key(address: str) -> str:
    """An address as limits count it: IPv4 as it is, IPv6 as its /64 (one host, or one
    customer's network, holds a whole /64: 2^64 addresses to rotate through); else as it is."""
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, _V6_PREFIX), strict=False))
    return address if parsed is None else str(parsed)


def address_behind(peer: str, forwarded_for: Sequence[str], trusted: Sequence[IPNetwork]) -> str:
    """`client_address` without the request. Each trusted proxy appends the address it saw,
    so the chain is read from the right and only as far as trusted proxies wrote it: what a
    client wrote itself (further left) is never believed. A hop that is not an address ends
    the walk at the proxy that passed it on."""
    current = _parse(peer)
    if current is None:
        return peer or "unknown"  # not an IP peer (a Unix socket, a test client): as it is
    if not _trusted(current, trusted):
        return str(current)
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
    for hop in reversed(hops[-_MAX_HOPS:]):
        seen = _parse(hop)
        if seen is None:
            break
        current = seen
        if not _trusted(current, trusted):
            break
    return str(current)


def _trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def _parse(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, `[v6]` or `[v6]:port`, `v4:port`; IPv4-mapped
    IPv6 as IPv4 (a dual-stack socket's view of an IPv4 peer); None when it is none."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return ipaddress.IPv6Address(text.split("%")[0])
    return address
