"""The webhook HTTP client: one aiohttp session, a pool of keep-alive connections per host.

The rest of leadflow speaks HTTP with httpx; webhooks go out with aiohttp because they are
sent hundreds a second from the process that also routes leads, and a POST through httpx
costs an order of magnitude more CPU (httpcore probes every pooled connection with a
`select()` per request and goes through anyio streams; aiohttp has a C parser and plain
asyncio transports). The figures: docs/decisions.md, "Earlier sessions".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import aiohttp
from aiohttp.abc import AbstractResolver

# What is read of a receiver's answer; the rest is dropped with its connection.
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "leadflow-webhooks/1"


@dataclass(frozen=True)
class Answer:
    """A receiver's answer: the status and `Retry-After`, or why there was none."""

    status_code: int | None
    error: str | None = None
    retry_after: str | None = None


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, (parsedate_to_datetime(text) - now).total_seconds())
    return None


class WebhookSender:
    """POSTs bodies over keep-alive HTTP/1.1 connections, at most `per_host` to one host."""

    def __init__(
        self, *, timeout: float, per_host: int, resolver: AbstractResolver | None = None
    ) -> None:
        self._timeout = timeout
        self._per_host = per_host
        # Connections use only what this resolver answers (the SSRF guard's, in the service).
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the running event loop.
        connector = aiohttp.TCPConnector(
            limit=max(100, self._per_host),
            limit_per_host=self._per_host,
            ttl_dns_cache=60,
            resolver=self._resolver,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self._timeout),
            headers={"user-agent": USER_AGENT},
            auto_decompress=False,
            raise_for_status=False,
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
        """One POST; a keep-alive connection the receiver closed meanwhile is tried once more."""
        if self._session is None:
            self._session = self._open()
        try:
            try:
                return await self._post(self._session, url, body, headers)
            except aiohttp.ServerDisconnectedError:
                # Most likely a pooled connection the receiver closed as we reused it; the
                # message keeps its webhook-id, so a second copy is what receivers dedupe.
                return await self._post(self._session, url, body, headers)
        except TimeoutError:
            return Answer(None, f"timeout after {self._timeout:g} s")
        except aiohttp.ClientError as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:500])

    @staticmethod
    async def _post(
        session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Answer:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as r:
            # Read the answer to its end so the connection is reused; past the limit the
            # connection is dropped with the rest.
            read = 0
            while read <= MAX_ANSWER_BYTES and (chunk := await r.content.readany()):
                read += len(chunk)
            return Answer(r.status, None, r.headers.get("retry-after"))

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
            await asyncio.sleep(0)  # let the transports close before the loop goes
