"""One service as a real process for a test: its environment, database, group and log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from leadflow import services as registry
from support.infra import free_port

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


def service_proc(
    name: str,
    bootstrap: str,
    data: Path,
    *,
    database_url: str | None = None,
    group: str | None = None,
    port: int | None = None,
    log: Path | None = None,
    inherit: Mapping[str, str] = os.environ,
    more: Mapping[str, str] | None = None,
    **settings: str,
) -> Proc:
    """Service `name` (not started) in dev mode with the test admin token, on `bootstrap`,
    working in `data` (made if missing): by default on a SQLite file there, in a consumer
    group of its own, on a free port, logging to `data/<name>.log`. `inherit` is the
    environment it starts from; `more` and `settings` are more `LEADFLOW_*` variables, on
    top (`settings` last)."""
    data.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = {
        **inherit,
        "LEADFLOW_ENV": "dev",
        "LEADFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
        "LEADFLOW_KAFKA_BOOTSTRAP": bootstrap,
        "LEADFLOW_HTTP_PORT": str(port),
        "LEADFLOW_DATA_DIR": str(data),
        "LEADFLOW_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{data}/{name}.db",
        "LEADFLOW_CONSUMER_GROUP": group or f"test-{name}-{uuid.uuid4().hex[:8]}",
        **(more or {}),
        **settings,
    }
    return Proc(name, port, env, log or data / f"{name}.log")
