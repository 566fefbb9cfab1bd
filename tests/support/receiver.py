"""A real HTTP webhook receiver on loopback, run by uvicorn in its own thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support.infra import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Records every POST; `fail_with` makes it answer an error status for a while."""

    port: int = field(default_factory=free_port)
    received: list[Received] = field(default_factory=list)
    fail_with: int | None = None
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            if self.fail_with is not None:
                return Response(status_code=self.fail_with)
            self.received.append(Received(dict(request.headers), body, time.time()))
        return Response(status_code=204)

    def start(self) -> Receiver:
        app = Starlette(routes=[Route("/hooks", self._hook, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve()),  # type: ignore[union-attr]
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("webhook receiver did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def payloads(self) -> list[tuple[Received, dict[str, Any]]]:
        return [(r, json.loads(r.body)) for r in self.snapshot()]
