"""Nothing lost, on the real broker: Kafka away, the process killed, the database away."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from leadflow.db import create_engine
from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import ADMIN, build, client, dispose
from support.infra import create_pg_database, drop_pg_database, free_port, postgres_admin_url
from support.intake import fresh_group, intake_proc, wait_alive
from support.kafka_tools import end_offsets, read_after
from support.procs import ADMIN_TOKEN, Proc

pytestmark = pytest.mark.kafka
TOPIC = "leads.captured"


@contextlib.asynccontextmanager
async def running(
    database_url: str, bootstrap: str, group: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Intake in process with its lifespan: the runtime's relay and consumer run."""
    app: FastAPI = await build(
        IntakeSettings,
        build_app,
        MIGRATIONS,
        database_url,
        kafka_bootstrap=bootstrap,
        relay_poll_seconds=0.1,
        consumer_group=group,
    )
    try:
        async with app.router.lifespan_context(app), client(app) as http:
            yield http
    finally:
        await dispose(app)


async def unsent(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(
                (
                    await conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
                ).scalar_one()
            )
    finally:
        await engine.dispose()


def keyed(lead_ids: set[str]) -> Callable[[Any], bool]:
    """A message of one of `lead_ids` (its key)."""
    keys = {lead_id.encode() for lead_id in lead_ids}
    return lambda m: m.key in keys


def ce_ids(messages: list[Any], lead_ids: set[str]) -> dict[str, set[str]]:
    """lead_id → the distinct ce_ids seen for it."""
    seen: dict[str, set[str]] = {}
    for m in messages:
        key = m.key.decode()
        if key in lead_ids:
            seen.setdefault(key, set()).add(dict(m.headers)["ce_id"].decode())
    return seen


async def test_a_lead_taken_while_kafka_is_away_is_published_when_it_is_back(
    database_url: str, kafka_bootstrap: str
) -> None:
    start = await end_offsets(kafka_bootstrap, [TOPIC])
    group = await fresh_group(kafka_bootstrap)
    async with running(database_url, f"127.0.0.1:{free_port()}", group) as http:
        key = (await http.post("/v1/api-keys", json={"name": "x"}, headers=ADMIN)).json()["key"]
        r = await http.post(
            "/v1/leads",
            json={"email": "offline@example.com"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 202, r.text
        lead_id = r.json()["lead_id"]
        await asyncio.sleep(0.5)  # the relay tries and fails meanwhile
        ready = await http.get("/readyz")  # still taking leads: ready, Kafka degraded
        assert ready.status_code == 200
        assert ready.json()["degraded"] == ["kafka"]
        assert ready.json()["checks"]["database"] == "ok"
        assert ready.json()["checks"]["kafka"].startswith("unavailable")
    assert await unsent(database_url) == 1
    async with running(database_url, kafka_bootstrap, group):
        got = await read_after(kafka_bootstrap, start, bool, keep=keyed({lead_id}), timeout=30)
    assert len(ce_ids(got, {lead_id})[lead_id]) == 1
    assert await unsent(database_url) == 0


# ---------------------------------------------------------------- real processes


def post_leads(proc: Proc, n: int) -> list[str]:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=proc.url, timeout=30) as http:
        key = http.post("/v1/api-keys", json={"name": "x"}, headers=admin).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}
        ids = []
        for i in range(n):
            r = http.post(
                "/v1/leads", json={"email": f"k{i}-{uuid.uuid4().hex[:6]}@ex.com"}, headers=auth
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["lead_id"])
        return ids


async def test_killed_between_commit_and_publish_and_between_publish_and_mark(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    start = await end_offsets(kafka_bootstrap, [TOPIC])
    group = await fresh_group(kafka_bootstrap)
    port = free_port()
    # 1. Committed, never published: the relay cannot reach Kafka, then SIGKILL.
    proc = intake_proc(tmp_path, database_url, f"127.0.0.1:{free_port()}", port)
    proc.start()
    wait_alive(proc)
    stranded = await asyncio.to_thread(post_leads, proc, 5)
    proc.kill()
    assert await unsent(database_url) == 5
    # 2. Published, then killed mid-burst, wherever the relay happens to be.
    proc = intake_proc(tmp_path, database_url, kafka_bootstrap, port, group)
    proc.start()
    await asyncio.to_thread(proc.wait_ready)
    burst = await asyncio.to_thread(post_leads, proc, 30)
    proc.kill()
    # 3. Exactly between publish and mark: the row was published but its mark is lost.
    got = await read_after(
        kafka_bootstrap,
        start,
        lambda ms: len(ce_ids(ms, set(stranded))) == 5,
        keep=keyed(set(stranded)),
        timeout=30,
    )
    assert len(ce_ids(got, set(stranded))) == 5
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE outbox SET sent_at = NULL WHERE id = (SELECT min(id) FROM outbox)")
        )
    await engine.dispose()
    proc = intake_proc(tmp_path, database_url, kafka_bootstrap, port, group)
    proc.start()
    try:
        await asyncio.to_thread(proc.wait_ready)
        every = set(stranded) | set(burst)
        got = await read_after(
            kafka_bootstrap,
            start,
            lambda ms: (
                len(ce_ids(ms, every)) == len(every)
                and sum(1 for m in ms if m.key.decode() == stranded[0]) >= 2
            ),
            keep=keyed(every),
            timeout=30,
        )
        seen = ce_ids(got, every)
        assert set(seen) == every  # every accepted lead was published
        assert all(len(ids) == 1 for ids in seen.values())  # once per lead, as consumers see it
        copies = [m for m in got if m.key.decode() == stranded[0]]
        assert len(copies) == 2  # the re-published one carries the same ce_id
        await asyncio.sleep(0.5)
        assert await unsent(database_url) == 0
    finally:
        proc.terminate()


class TcpProxy:
    """A loopback TCP forwarder that can be cut: the database 'goes away'."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        self.is_cut = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with self.lock:  # a connection accepted while cutting must not survive the cut
                if self.is_cut:
                    conn.close()
                    return
                upstream = socket.create_connection(self.target)
                self.open += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        with self.lock:
            self.is_cut = True
            with contextlib.suppress(OSError):  # wakes the accept() blocked in the other thread
                self.server.shutdown(socket.SHUT_RDWR)
            self.server.close()
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


@pytest.fixture
async def pg_proxy() -> AsyncIterator[tuple[TcpProxy, str]]:
    """A fresh PostgreSQL database reached through a proxy the test can cut."""
    admin = postgres_admin_url()
    database_url = await create_pg_database(admin)
    url = make_url(database_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.cut()
    await drop_pg_database(admin, database_url)


async def test_a_process_whose_database_is_away_answers_503_never_202(
    pg_proxy: tuple[TcpProxy, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    proxy, via_proxy = pg_proxy
    group = await fresh_group(kafka_bootstrap)
    proc = intake_proc(tmp_path, via_proxy, kafka_bootstrap, free_port(), group)
    proc.start()
    try:
        await asyncio.to_thread(proc.wait_ready)
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=proc.url, timeout=30) as http:
            key = (await http.post("/v1/api-keys", json={"name": "x"}, headers=admin)).json()
            auth = {"Authorization": f"Bearer {key['key']}"}
            ok = await http.post("/v1/leads", json={"email": "up@example.com"}, headers=auth)
            assert ok.status_code == 202
            proxy.cut()
            for i in range(3):
                r = await http.post("/v1/leads", json={"email": f"d{i}@example.com"}, headers=auth)
                assert r.status_code == 503, r.text
                assert r.headers["retry-after"]
            assert (await http.get("/readyz")).status_code == 503
    finally:
        proc.terminate()
