"""The kernel's SQL helpers on SQLite and PostgreSQL: advisory locks and any-of-ids."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import BigInteger, Column, MetaData, String, Table, Uuid, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from leadflow.db import create_engine, session_factory
from leadflow.sql import any_of, lock_keys, lock_keys_sync, try_lock_session

metadata = MetaData()
rows = Table(
    "rows",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("lead_id", Uuid, nullable=False),
    Column("name", String(50), nullable=False),
)
LEADS = [uuid.uuid4() for _ in range(4)]
ROWS = [{"id": i + 1, "lead_id": lead, "name": f"n{i}"} for i, lead in enumerate(LEADS)]

# Advisory locks in this test's own database (pg_locks shows the whole server's).
_IN_THIS_DATABASE = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_HELD = text(_IN_THIS_DATABASE + " AND granted")
_WAITING = text(_IN_THIS_DATABASE + " AND NOT granted")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(rows), ROWS)
    yield engine
    await engine.dispose()


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("id", [2, 4, 99], {2, 4}),
        ("lead_id", [LEADS[0], LEADS[3], uuid.uuid4()], {1, 4}),
        ("name", ["n1", "n2", "nobody"], {2, 3}),
        ("id", [], set()),
    ],
)
async def test_any_of_selects_the_rows_whose_column_is_in_the_list(
    engine: AsyncEngine, column: str, values: list[object], expected: set[int]
) -> None:
    stmt = select(rows.c.id).where(any_of(rows.c[column], "ids"))
    async with engine.connect() as conn:
        found = set((await conn.scalars(stmt, {"ids": values})).all())
        excluded = set(
            (
                await conn.scalars(
                    select(rows.c.id).where(~any_of(rows.c[column], "ids")), {"ids": values}
                )
            ).all()
        )
    assert found == expected
    assert excluded == {row["id"] for row in ROWS} - expected


async def test_any_of_is_one_parameter_whatever_the_number_of_ids(engine: AsyncEngine) -> None:
    stmt = select(rows.c.id).where(any_of(rows.c.id, "ids"))
    compiled = [str(stmt.compile(dialect=engine.dialect)) for _ in range(2)]
    async with engine.connect() as conn:
        few = (await conn.scalars(stmt, {"ids": [1]})).all()
        many = (await conn.scalars(stmt, {"ids": list(range(5000))})).all()
    assert compiled[0] == compiled[1]
    assert compiled[0].count("?") + compiled[0].count("$") == 1
    assert (len(few), len(many)) == (1, len(ROWS))


async def test_locking_keys_on_sqlite_is_nothing_and_on_postgres_holds_them_to_commit(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await lock_keys(session, ["lead:a", "lead:b", 7, "lead:a"])
        await lock_keys(session, [])
        await session.run_sync(lambda s: lock_keys_sync(s, ["lead:c"]))
        if engine.dialect.name == "postgresql":
            held = await session.scalar(_HELD)
            assert held == 4  # lead:a once, lead:b, 7, lead:c
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            held = await conn.scalar(_HELD)
        assert held == 0


async def test_a_second_transaction_locking_a_shared_key_waits_for_the_first(
    pg_url: str,
) -> None:
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as first, first.begin():
            await lock_keys(first, ["lead:x", "lead:y"])
            second = asyncio.create_task(_lock_in_own_transaction(engine, ["lead:z", "lead:y"]))
            async with asyncio.timeout(10):
                while not await first.scalar(_WAITING):
                    await asyncio.sleep(0.02)
            assert not second.done()
        async with asyncio.timeout(10):
            await second
    finally:
        await engine.dispose()


async def _lock_in_own_transaction(engine: AsyncEngine, keys: list[str]) -> None:
    async with session_factory(engine)() as session, session.begin():
        await lock_keys(session, keys)


@pytest.mark.parametrize("key", ["relay", 0x1EADF10])
async def test_a_session_lock_is_taken_once_until_its_connection_closes(
    pg_url: str, key: str | int
) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as a:
            await a.execution_options(isolation_level="AUTOCOMMIT")
            assert await try_lock_session(a, key)
            async with engine.connect() as b:
                await b.execution_options(isolation_level="AUTOCOMMIT")
                assert not await try_lock_session(b, key)
                await a.invalidate()  # the holder's connection is gone
                assert await try_lock_session(b, key)
                await b.invalidate()
    finally:
        await engine.dispose()
