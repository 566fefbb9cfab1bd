"""sales-assignment fixtures: the app on a migrated database (both DBs), a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from assignment_kit import make_assigner
from fastapi import FastAPI

from sales_assignment.app import MIGRATIONS, build_app
from sales_assignment.assigning import Assigner
from sales_assignment.settings import AssignmentSettings
from support.apps import build, client, dispose
from support.receiver import Receiver


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    """The real app with default settings; a test module may override it with its own."""
    app = await build(AssignmentSettings, build_app, MIGRATIONS, database_url)
    yield app
    await dispose(app)


@pytest.fixture
async def assigner(database_url: str) -> AsyncIterator[Assigner]:
    """The event side alone (`Assigner`) on a migrated database (both DBs), for tests that
    call its handlers as the consumer loop would."""
    a = await make_assigner(database_url)
    yield a
    if a.deliveries is not None:
        await a.deliveries.close()
    await a.rt.engine.dispose()


@pytest.fixture
def a(assigner: Assigner) -> Assigner:
    """`assigner`, by the short name the event-side modules use."""
    return assigner


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A fresh webhook receiver for each test (the root conftest's lives a whole module)."""
    r = Receiver().start()
    yield r
    r.stop()
