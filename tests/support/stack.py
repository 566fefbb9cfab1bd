"""The four services as real processes on the real broker, each with its own database."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from leadflow import services as registry
from leadflow.events import TOPICS
from leadflow.kafka import ensure_topics, physical_topic
from support.infra import free_port
from support.kafka_tools import place_group_at_end

SERVICES = {s.name: s.package for s in registry.SERVICES}  # name → package, in start order
ADMIN_TOKEN = "dev-e2e-admin-token"


@dataclass
class Proc:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-u", "-m", SERVICES[self.name]],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.env["LEADFLOW_DATA_DIR"],
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.popen is not None
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {timeout} s: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no drain, no goodbye — what a crash looks like."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.popen is not None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if self._log is not None:
            self._log.close()
        return self.popen.returncode

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]


@dataclass
class Stack:
    """Four service processes; `procs[name].url` is where each answers."""

    base: Path
    bootstrap: str
    extra_env: dict[str, str] = field(default_factory=dict)
    # Settings for one service only (by name), on top of `extra_env`.
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)  # default: SQLite per service
    # Processes per service, all in the service's one consumer group and on its one database
    # (several need PostgreSQL): `procs[name]` is the first, `procs[f"{name}#2"]` the second…
    replicas: int = 1

    def start(self) -> Stack:
        # Consumer groups of this stack alone, placed at the topics' current end: other
        # processes on the same broker (and earlier runs' events) stay out of its way.
        run = uuid.uuid4().hex[:8]
        groups = {name: f"{name}-{run}" for name in SERVICES}
        prefix = {**os.environ, **self.extra_env}.get("LEADFLOW_KAFKA_TOPIC_PREFIX", "")
        topics = [physical_topic(t, prefix) for t in TOPICS]  # make bench's own topics
        if prefix:  # topics of its own: made here (DEFAULT_PARTITIONS each) if missing
            asyncio.run(ensure_topics(self.bootstrap, prefix=prefix))
        for group in groups.values():
            asyncio.run(place_group_at_end(self.bootstrap, group, topics))
        for name, replica in itertools.product(SERVICES, range(1, self.replicas + 1)):
            key = name if replica == 1 else f"{name}#{replica}"
            port = free_port()
            data = self.base / key
            data.mkdir(parents=True, exist_ok=True)
            env = {
                **os.environ,
                "LEADFLOW_ENV": "dev",
                "LEADFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
                "LEADFLOW_KAFKA_BOOTSTRAP": self.bootstrap,
                "LEADFLOW_HTTP_PORT": str(port),
                "LEADFLOW_DATA_DIR": str(data),
                "LEADFLOW_DATABASE_URL": self.database_urls.get(
                    name, f"sqlite+aiosqlite:///{data}/{name}.db"
                ),
                "LEADFLOW_RELAY_POLL_SECONDS": "0.2",
                "LEADFLOW_CONSUMER_GROUP": groups[name],
                **self.extra_env,
                **self.service_env.get(name, {}),
            }
            self.procs[key] = Proc(name, port, env, self.base / f"{key}.log")
        for proc in self.procs.values():
            proc.start()
        try:
            for proc in self.procs.values():
                proc.wait_ready()
        except BaseException:
            # One did not start: stop the others, or they would go on consuming the shared
            # broker's topics (and acting on other tests' events) after this test.
            self.stop()
            raise
        return self

    def restart(self, name: str) -> None:
        proc = self.procs[name]
        proc.start()
        proc.wait_ready()

    def stop(self) -> dict[str, int]:
        return {name: proc.terminate() for name, proc in self.procs.items()}

    def replicas_of(self, name: str) -> list[Proc]:
        """Every process of service `name`, the first one first."""
        return [p for key, p in self.procs.items() if key.split("#")[0] == name]

    def url(self, name: str) -> str:
        return self.procs[name].url

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def logs(self) -> dict[str, str]:
        return {n: p.log_path.read_text(errors="replace") for n, p in self.procs.items()}

    async def add_endpoint(self, http: httpx.AsyncClient, url: str, events: list[str]) -> str:
        """A sales-assignment webhook endpoint posting `events` to `url`; its secret."""
        r = await http.post(
            f"{self.url('sales-assignment')}/v1/webhook-endpoints",
            headers=self.admin(),
            json={"url": url, "event_types": events},
        )
        assert r.status_code == 201, r.text
        secret: str = r.json()["secret"]
        return secret

    async def add_rep(self, http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
        """A rep "<name> Rep" at <name>@sales.example.com (and `fields`), as the API shows it."""
        r = await http.post(
            f"{self.url('sales-assignment')}/v1/reps",
            headers=self.admin(),
            json={"name": f"{name} Rep", "email": f"{name.lower()}@sales.example.com"} | fields,
        )
        assert r.status_code == 201, r.text
        rep: dict[str, Any] = r.json()
        return rep

    async def add_api_key(self, http: httpx.AsyncClient, name: str) -> str:
        """An intake API key named `name`; the key itself."""
        r = await http.post(
            f"{self.url('marketing-intake')}/v1/api-keys", headers=self.admin(), json={"name": name}
        )
        assert r.status_code == 201, r.text
        key: str = r.json()["key"]
        return key


def client(**kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=30, **kw)
