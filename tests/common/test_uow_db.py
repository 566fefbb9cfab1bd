"""Rows staged with `insert_at_commit` go in with the outbox rows: on PostgreSQL in one
statement (ArrayInsert parts joined by `insert_together`), storing what SQLAlchemy's own
INSERT stores; a statement run before the commit inserts them first; a rollback drops them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from typed_rows import typed_rows, typed_table

from leadflow.db import ArrayInsert, BulkInsert, create_engine
from leadflow.events import Envelope, LeadErased
from leadflow.outbox import add_event, insert_at_commit, kernel_metadata, outbox_table

metadata = MetaData()
THEIRS = typed_table("theirs", metadata)
OURS = typed_table("ours", metadata)
STEPS = Table(
    "steps",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("label", String(50), nullable=False),
)
POOLS = Table(
    "pools",
    metadata,
    Column("pool", String(50), primary_key=True),
    Column("weights", JSON, nullable=False),
    Column("note", String(50), nullable=True),
)
DEFAULTED = Table(
    "defaulted",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("tries", Integer, default=0),
)

ROWS = typed_rows()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.run_sync(kernel_metadata.create_all)
    yield engine
    await engine.dispose()


def _inserts(engine: AsyncEngine) -> list[str]:
    """The INSERT statements `engine` runs from now on (their first words)."""
    seen: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith(("INSERT", "WITH")):
            seen.append(statement)

    return seen


def _erased() -> LeadErased:
    return LeadErased(lead_id=uuid.uuid4(), erased_at=datetime.now(UTC))


async def test_rows_and_outbox_rows_go_in_together_at_commit(engine: AsyncEngine) -> None:
    inserts = _inserts(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        insert_at_commit(s, OURS, ROWS)
        insert_at_commit(s, STEPS, [{"label": f"step {i}"} for i in range(5)])
        await add_event(s, Envelope(data=_erased(), source="/test"))
        assert inserts == []  # nothing yet: all of it waits for the commit
    # PostgreSQL: one statement for the three tables; SQLite: one executemany for each.
    assert len(inserts) == (1 if engine.dialect.name == "postgresql" else 3)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(OURS).order_by(OURS.c.label))).all()
        steps = (await conn.execute(select(STEPS.c.label).order_by(STEPS.c.seq))).scalars().all()
        events = await conn.scalar(select(func.count()).select_from(outbox_table))
    assert {row.id for row in stored} == {row["id"] for row in ROWS}
    assert steps == [f"step {i}" for i in range(5)]  # a table's rows keep their order
    assert events == 1


async def test_a_statement_before_the_commit_sees_the_staged_rows(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        insert_at_commit(s, STEPS, [{"label": "first"}])
        assert await s.scalar(select(func.count()).select_from(STEPS)) == 1
        insert_at_commit(s, STEPS, [{"label": "second"}])
    async with engine.connect() as conn:
        steps = (await conn.execute(select(STEPS.c.label).order_by(STEPS.c.seq))).scalars().all()
    assert steps == ["first", "second"]


async def test_a_rollback_drops_the_staged_rows(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s:
        async with s.begin():
            insert_at_commit(s, STEPS, [{"label": "lost"}])
            await s.rollback()
        async with s.begin():
            insert_at_commit(s, STEPS, [{"label": "kept"}])
    async with engine.connect() as conn:
        steps = (await conn.execute(select(STEPS.c.label))).scalars().all()
    assert steps == ["kept"]


async def test_array_insert_stores_what_sqlalchemy_stores(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(THEIRS), ROWS)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as s, s.begin():
            insert_at_commit(s, OURS, ROWS)
        async with engine.connect() as conn:
            # JSON as the text PostgreSQL holds, not parsed back.
            raw = [
                (
                    await conn.exec_driver_sql(
                        f"SELECT id, doc::text, flag, n, label, blob, at FROM {name} ORDER BY id"
                    )
                ).all()
                for name in ("theirs", "ours")
            ]
    finally:
        await engine.dispose()
    assert raw[0] == raw[1]
    assert len(raw[1]) == len(ROWS)


def test_a_column_with_a_python_default_needs_a_value() -> None:
    with pytest.raises(ValueError, match="no value for tries"):
        ArrayInsert.of(DEFAULTED, ("id",), postgresql.asyncpg.dialect(), "t0")
    with pytest.raises(ValueError, match="no value for tries"):  # SQLite's BulkInsert alike
        BulkInsert.of(DEFAULTED, ("id",), sqlite.dialect())


def test_array_insert_is_for_postgresql() -> None:
    with pytest.raises(ValueError, match="for PostgreSQL"):
        ArrayInsert.of(STEPS, ("label",), sqlite.dialect(), "t0")


async def test_replace_overwrites_a_stored_row_and_inserts_a_new_one(engine: AsyncEngine) -> None:
    pools = POOLS
    async with engine.begin() as conn:
        await conn.execute(insert(pools), [{"pool": "emea", "weights": {"a": 1}, "note": "kept"}])
    inserts = _inserts(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as s, s.begin():
        changed = [{"pool": "emea", "weights": {"a": 2}}, {"pool": "apac", "weights": {"b": 1}}]
        insert_at_commit(s, pools, changed, replace=True)
        insert_at_commit(s, STEPS, [{"label": "with it"}])
    assert len(inserts) == (1 if engine.dialect.name == "postgresql" else 2)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(pools).order_by(pools.c.pool))).all()
    # The columns not given keep their stored values.
    assert [tuple(r) for r in rows] == [("apac", {"b": 1}, None), ("emea", {"a": 2}, "kept")]


def test_replace_needs_a_column_besides_the_key() -> None:
    with pytest.raises(ValueError, match="nothing to replace"):
        ArrayInsert.of(STEPS, ("seq",), postgresql.asyncpg.dialect(), "t0", replace=True)
