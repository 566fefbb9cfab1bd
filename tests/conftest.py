"""Shared fixtures: one real Kafka broker per run; SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from leadflow.kafka import ensure_topics
from support.infra import LocalKafka, create_pg_database, drop_pg_database, postgres_admin_url


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The broker every Kafka test uses, started once and topics created once."""
    kafka = LocalKafka()
    kafka.start()
    asyncio.run(ensure_topics(kafka.bootstrap))
    yield kafka.bootstrap
    kafka.stop()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: SQLite file and PostgreSQL, the same tests on both."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    admin = postgres_admin_url()
    url = await create_pg_database(admin)
    yield url
    await drop_pg_database(admin, url)
