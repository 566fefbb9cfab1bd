"""Fixtures of the kernel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from kernel_app import create_tables, make_settings

from leadflow.service import Runtime


@pytest.fixture
async def runtime(database_url: str, kafka_bootstrap: str) -> AsyncIterator[Runtime]:
    """A kernel runtime on a fresh database (SQLite and PostgreSQL), stopped after."""
    rt = Runtime.build(make_settings(database_url, kafka_bootstrap))
    await create_tables(rt)
    yield rt
    await rt.stop()
