"""The four services as real processes on the real broker, each with its own database."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from leadflow.events import TOPICS
from leadflow.kafka import ensure_topics, physical_topic
from support.kafka_tools import place_group_at_end
from support.procs import ADMIN_TOKEN, SERVICES, Proc, service_proc


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
            self.procs[key] = service_proc(
                name,
                self.bootstrap,
                self.base / key,
                database_url=self.database_urls.get(name),
                group=groups[name],
                log=self.base / f"{key}.log",
                more={
                    "LEADFLOW_RELAY_POLL_SECONDS": "0.2",
                    **self.extra_env,
                    **self.service_env.get(name, {}),
                },
            )
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
