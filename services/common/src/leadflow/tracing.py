"""W3C trace context carried from the intake request through Kafka headers to the webhook."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

current_traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)

_VALID = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_of(traceparent: str | None) -> str:
    """Same trace, new span id; a fresh trace when the parent is missing or malformed."""
    if traceparent and _VALID.match(traceparent):
        return f"{traceparent[:36]}{secrets.token_hex(8)}{traceparent[52:]}"
    return new_traceparent()


class TraceMiddleware:
    """Make the request's `traceparent` (or a new one) current while the request runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"traceparent", b"").decode("latin-1")
        token = current_traceparent.set(child_of(incoming or None))
        try:
            await self.app(scope, receive, send)
        finally:
            current_traceparent.reset(token)
