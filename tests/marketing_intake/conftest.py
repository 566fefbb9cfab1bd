"""Intake apps over ASGI on a real, migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI

from marketing_intake.app import MIGRATIONS, build_app
from marketing_intake.settings import IntakeSettings
from support.apps import build, dispose
from support.browser import chromium  # noqa: F401  (a fixture: this folder's browser tests)
from support.intake import MakeApp


@pytest.fixture
async def make_app(database_url: str) -> AsyncIterator[MakeApp]:
    """Build intake apps on the test database with these settings; disposed afterwards."""
    apps: list[FastAPI] = []

    async def make(**settings: Any) -> FastAPI:
        app = await build(IntakeSettings, build_app, MIGRATIONS, database_url, **settings)
        apps.append(app)
        return app

    yield make
    for app in apps:
        await dispose(app)
