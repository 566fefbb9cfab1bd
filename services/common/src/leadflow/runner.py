"""`python -m <service>`: JSON logs, migrations, then uvicorn with the service's app."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from leadflow.migrations import upgrade
from leadflow.observability import configure_logging
from leadflow.settings import Settings

log = logging.getLogger(__name__)

S = TypeVar("S", bound=Settings)


def serve(settings_cls: type[S], build_app: Callable[[S], FastAPI], migrations: Path) -> None:
    """Run one service process until SIGTERM/SIGINT, which drain it cleanly."""
    settings = settings_cls()  # read from the environment
    configure_logging(settings.service_name, settings.log_level)
    if settings.migrate_on_start:
        upgrade(migrations, settings.database_url)
        configure_logging(settings.service_name, settings.log_level)  # alembic resets logging
    app = build_app(settings)
    tune_gc()
    tune_threads()
    log.info(
        "serving",
        extra={"url": f"http://{settings.http_host}:{settings.http_port}", "env": settings.env},
    )
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
        # Off: uvicorn's would believe X-Forwarded-For from any local peer; the client
        # address is leadflow.edge.client_address's, with LEADFLOW_TRUSTED_PROXIES.
        proxy_headers=False,
    )


# Young collections after this many net allocations of container objects (CPython: 700).
YOUNG_GC_THRESHOLD = 20_000


def tune_gc() -> None:
    """The cyclic collector, tuned for a service that handles batches of events.

    What start-up allocated lives as long as the process, so it is frozen out of every later
    collection; and a batch holds tens of thousands of objects at once (nearly all freed by
    reference counting when it is done), so young collections run every 20,000 net
    allocations instead of every 700, and the middle generation every 50 of them rather
    than 10 — otherwise they re-scan the batch in hand many times over. Not more: what
    refcounting cannot free (cycles: sessions, tasks, HTTP responses) waits for a young
    collection, and a higher threshold let sales-assignment's peak RSS pass its target under
    overload (figures: docs/decisions.md, session 10).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, 50, 100)


# How long a thread may hold the interpreter while another waits for it (CPython: 5 ms).
SWITCH_INTERVAL_SECONDS = 0.0005


def tune_threads() -> None:
    """Hand the interpreter over within 0.5 ms rather than 5 ms.

    On SQLite every statement is a few hops to aiosqlite's thread and back; while the event
    loop is busy, each hop could wait the whole switch interval for the interpreter (intake's
    p99 and sales-assignment's rate on SQLite under load: docs/decisions.md, sessions 4
    and 11).
    """
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
