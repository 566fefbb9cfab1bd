"""A service's FastAPI app on a real, migrated database, driven in process over ASGI.

The lifespan is not started, so nothing talks to Kafka: outgoing events stay in the
outbox table, where the tests read them (the relay is tested on the real broker elsewhere).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from leadflow.bus import Handler
from leadflow.events import Envelope, Event, decode
from leadflow.kafka import LAB_TOPIC
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from leadflow.settings import Settings
from support.databases import migrated
from support.infra import free_port

ADMIN = {"Authorization": "Bearer dev-test-admin"}
REP_SUBJECT = "5f0c6a7e-2b1d-4c3e-9a8f-0123456789ab"  # a rep's subject is a rep_id (a UUID)
S = TypeVar("S", bound=Settings)


async def build(
    settings_cls: type[S],
    build_app: Callable[[S], FastAPI],
    migrations: Path,
    database_url: str,
    **settings: Any,
) -> FastAPI:
    await migrated(migrations, database_url)
    s = settings_cls(admin_token="dev-test-admin", database_url=database_url, **settings)
    return build_app(s)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def bearer(
    http: httpx.AsyncClient,
    role: str,
    subject: str | None = None,
    *,
    admin: dict[str, str] = ADMIN,
) -> dict[str, str]:
    """Headers carrying a new token of this role (and subject), issued by the app's admin."""
    body = {"role": role} | ({"subject": subject} if subject else {})
    r = await http.post("/v1/tokens", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def json_of(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The answer's JSON object, once its status is `status` (else fail showing its body)."""
    assert answer.status_code == status, answer.text
    doc: dict[str, Any] = answer.json()
    return doc


def runtime(app: FastAPI) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


async def outbox(app: FastAPI) -> list[Envelope]:
    """Every event the app staged, decoded exactly as a consumer would (which skips the
    tombstones: empty values, published as null ones; see `tombstones`). The what-if lab's
    messages are not lead events: `leadflow.lab`'s rows are left out."""
    async with runtime(app).sessions() as s:
        rows = (await s.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    events = [r for r in rows if r.value and r.topic != LAB_TOPIC]
    return [decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in events]


async def tombstones(app: FastAPI) -> list[tuple[str, bytes]]:
    """The (topic, key) of each tombstone the app staged (erasure on the log): an empty value
    without CloudEvents headers — not an event row an erasure emptied, which keeps them."""
    async with runtime(app).sessions() as s:
        rows = (await s.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    return [(r.topic, r.key) for r in rows if not r.value and not r.headers]


def registered(rt: Runtime, event_type: type[Event]) -> Handler:
    """The handler the runtime's consumer runs for `event_type`, with the wrappers the app
    put around it (the kernel's `LogEraser` on `leads.erased`): what a delivered event meets."""
    [found] = [h for c in rt.consumers if (h := c.handler(event_type)) is not None]
    return found


async def dispose(app: FastAPI) -> None:
    await runtime(app).engine.dispose()


def without_lifespan(app: FastAPI) -> Any:
    """The app as an ASGI callable whose lifespan is acknowledged but not run: its routes
    answer on the migrated database, with no relay, consumers or workers behind them.

    For the fuzzers: schemathesis keeps a started lifespan running for the rest of the
    process, on one loop shared by every fuzzed app, so five runtimes' workers (retrying a
    broker that is not there) ran beside every fuzzed call, and a call slowed past the
    client's 10 s read timeout on a loaded machine was cancelled, after which the SQLite
    file stayed locked for the calls after it ("database is locked"; how a cancelled call
    leaves the lock held is not yet understood). Those workers are tested against the real
    broker elsewhere; the fuzzers check the answers."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return asgi


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on loopback in a thread of its own, lifespan off (nothing
    talks to Kafka): its base URL, for a client that must cross real HTTP (the CLI)."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


Seed = Callable[[FastAPI, httpx.AsyncClient], Awaitable[Any]]


class Served(NamedTuple):
    """A service served by uvicorn for the CLI tests."""

    base: str  # its base URL
    seeded: Any  # what the seed gave (rep ids, leads…)
    analyst: str  # an analyst's token, issued by the admin


def served_by(
    settings_cls: type[S],
    build_app: Callable[[S], FastAPI],
    migrations: Path,
    seed: Seed,
    **settings: Any,
) -> Any:
    """A module's `served` fixture (`served = served_by(..., _seed)`): the service on a
    SQLite file `seed(app, client)` filled (through the API, or its handlers), then served
    by uvicorn with `settings` (no lifespan: nothing talks to Kafka); it gives a `Served`."""

    async def seeded(url: str) -> tuple[Any, str]:
        app = await build(settings_cls, build_app, migrations, url)
        try:
            async with client(app) as http:
                given = await seed(app, http)
                analyst = (await bearer(http, "analyst"))["Authorization"]
        finally:
            await dispose(app)
        return given, analyst.removeprefix("Bearer ")

    @pytest.fixture(scope="module", name="served")
    def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('served')}/service.db"
        given, analyst = asyncio.run(seeded(url))
        token = ADMIN["Authorization"].removeprefix("Bearer ")
        app = build_app(settings_cls(admin_token=token, database_url=url, **settings))
        with served(app) as base:
            yield Served(base, given, analyst)

    return fixture
