"""Helpers for intake tests: an API key, a web form, a metric's value."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from support.apps import ADMIN, json_of
from support.kafka_tools import place_group_at_end
from support.procs import Proc, service_proc

ORIGIN = "https://www.example.com"
MakeApp = Callable[..., Awaitable[FastAPI]]


async def api_key(http: httpx.AsyncClient, name: str = "crm") -> dict[str, str]:
    r = await http.post("/v1/api-keys", json={"name": name}, headers=ADMIN)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['key']}"}


async def new_form(http: httpx.AsyncClient, **settings: Any) -> dict[str, Any]:
    body = {"name": "Contact us", "allowed_origins": [ORIGIN], "min_fill_seconds": 0, **settings}
    return json_of(await http.post("/v1/forms", json=body, headers=ADMIN), 201)


async def metric(http: httpx.AsyncClient, name: str, **labels: str) -> float:
    """One sample's value from /metrics (0 when absent)."""
    text = (await http.get("/metrics")).text
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


async def fresh_group(bootstrap: str) -> str:
    """A consumer group of the test's own, placed at the end of leads.erased (no history)."""
    group = f"test-intake-{uuid.uuid4().hex[:8]}"
    await place_group_at_end(bootstrap, group, ["leads.erased"])
    return group


def intake_proc(
    tmp_path: Path, database_url: str, bootstrap: str, port: int, group: str = ""
) -> Proc:
    return service_proc(
        "marketing-intake", bootstrap, tmp_path / "intake", database_url=database_url,
        group=group or None, port=port, log=tmp_path / "intake.log",
        LEADFLOW_RELAY_POLL_SECONDS="0.1",
    )  # fmt: skip


def wait_alive(proc: Proc, timeout: float = 60) -> None:
    """Wait for /healthz (not /readyz, which also needs the database)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.popen is not None
        if proc.popen.poll() is not None:
            raise RuntimeError(proc.log_tail())
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"not alive: {proc.log_tail()}")
