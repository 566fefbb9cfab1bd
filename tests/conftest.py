"""Shared fixtures: one real Kafka broker per run; SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from leadflow.kafka import ensure_topics
from support.databases import drop_templates
from support.infra import PG_POOL, LocalKafka, fresh_pg_database
from support.receiver import Receiver
from support.stack import Stack


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The broker every Kafka test uses, started once and topics created once."""
    kafka = LocalKafka()
    kafka.start()
    asyncio.run(ensure_topics(kafka.bootstrap))
    yield kafka.bootstrap
    kafka.stop()


@pytest.fixture(scope="session", autouse=True)
def test_databases() -> Iterator[None]:
    """Last: the PostgreSQL databases this run reused between tests, the migrated templates."""
    yield
    asyncio.run(PG_POOL.drop_all())
    drop_templates()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: SQLite file and PostgreSQL, the same tests on both."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    async with fresh_pg_database() as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, for what only PostgreSQL does (advisory locks,
    several processes on one database, dropped connections)."""
    async with fresh_pg_database() as url:
        yield url


# The four services as processes with a webhook receiver: one stack per test module that
# asks for it (tests/e2e, tests/chaos/test_poison.py); a module may override both.
@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    base: Path = tmp_path_factory.mktemp("stack")
    s = Stack(
        base,
        kafka_bootstrap,
        extra_env={
            "LEADFLOW_WEBHOOK_RETRY_SCHEDULE": "[0, 1, 2, 3, 5]",
            "LEADFLOW_ASSIGNMENT_SLA_SECONDS": "3600",
            "LEADFLOW_WEBHOOK_POLL_SECONDS": "0.2",
            # A module's own settings for its stack (STACK_ENV = {...} in the test module).
            **getattr(request.module, "STACK_ENV", {}),
        },
    ).start()
    yield s
    codes = s.stop()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is the clean exit here;
    # the lifespan's last line proves the drain ran.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    assert all('"msg": "stopped"' in log for log in s.logs().values())
