"""feedback fixtures: the app on a migrated database (SQLite and PostgreSQL), lifespan not run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from feedback.app import MIGRATIONS, build_app
from feedback.settings import FeedbackSettings
from leadflow.service import Runtime
from support.browser import chromium  # noqa: F401  (a fixture: this folder's browser tests)
from support.databases import migrated

TOKEN = "dev-feedback-test"


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    """The real app; its lifespan (relay, consumers) is not started: tests deliver by hand."""
    await migrated(MIGRATIONS, database_url)
    settings = FeedbackSettings(
        admin_token=TOKEN,
        database_url=database_url,
        kafka_bootstrap="127.0.0.1:9",  # never contacted: nothing here starts the producer
    )
    built = build_app(settings)
    yield built
    await built.state.runtime.engine.dispose()


@pytest.fixture
def rt(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://feedback") as c:
        yield c
