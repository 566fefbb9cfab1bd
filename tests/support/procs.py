"""One service as a real process for a test: its environment, database, group and log."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

from support.infra import free_port
from support.stack import ADMIN_TOKEN, Proc


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
    **settings: str,
) -> Proc:
    """Service `name` (not started) in dev mode with the test admin token, on `bootstrap`,
    working in `data` (made if missing): by default on a SQLite file there, in a consumer
    group of its own, on a free port, logging to `data/<name>.log`. `inherit` is the
    environment it starts from; `settings` are more `LEADFLOW_*` variables, on top."""
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
        **settings,
    }
    return Proc(name, port, env, log or data / f"{name}.log")
