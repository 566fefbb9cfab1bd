"""The unit of work's commit: rows staged with `stage` go in with the outbox rows (on
PostgreSQL in one statement: ArrayInsert parts joined by `insert_together`), storing what
SQLAlchemy's own INSERT stores; `flush` inserts them earlier; a rollback drops everything;
the steps of a commit run in the order `leadflow.uow` states."""

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

from leadflow.bulk import ArrayInsert
from leadflow.db import create_engine
from leadflow.events import LeadErased
from leadflow.outbox import OutboxMessage, kernel_metadata, outbox_table
from leadflow.uow import UnitOfWork, unit_of_work

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
    async with unit_of_work(sessions) as uow:
        uow.stage(OURS, ROWS)
        uow.stage(STEPS, [{"label": f"step {i}"} for i in range(5)])
        uow.emit(_erased())
        await uow.session.execute(select(1))
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


async def test_a_flush_inserts_the_staged_rows_for_the_next_reads(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with unit_of_work(sessions) as uow:
        uow.stage(STEPS, [{"label": "first"}])
        assert await uow.session.scalar(select(func.count()).select_from(STEPS)) == 0
        await uow.flush()
        assert await uow.session.scalar(select(func.count()).select_from(STEPS)) == 1
        uow.stage(STEPS, [{"label": "second"}])
    async with engine.connect() as conn:
        steps = (await conn.execute(select(STEPS.c.label).order_by(STEPS.c.seq))).scalars().all()
    assert steps == ["first", "second"]


async def test_a_rollback_drops_the_staged_rows_events_and_callbacks(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    ran: list[str] = []

    async def failing() -> None:
        async with unit_of_work(sessions) as uow:
            uow.stage(STEPS, [{"label": "lost"}])
            uow.emit(_erased())
            uow.on_commit(lambda: ran.append("lost"))
            raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await failing()
    async with unit_of_work(sessions) as uow:
        uow.stage(STEPS, [{"label": "kept"}])
    async with engine.connect() as conn:
        steps = (await conn.execute(select(STEPS.c.label))).scalars().all()
        events = await conn.scalar(select(func.count()).select_from(outbox_table))
    assert (steps, events, ran) == (["kept"], 0, [])


class _Relay:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def remember(self, messages: list[OutboxMessage]) -> None:
        self.log.append(f"relay remembers {len(messages)}")

    def wake(self) -> None:
        self.log.append("relay woken")


async def test_a_commit_runs_its_steps_in_the_stated_order(engine: AsyncEngine) -> None:
    """Before-commit steps (with everything given for them), the writes and the commit,
    the hand-over to the relay, then the callbacks in the order given, once each."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    log: list[str] = []

    async def fold(uow: UnitOfWork, labels: list[str]) -> None:
        log.append(f"fold {labels}")
        uow.stage(STEPS, [{"label": label} for label in labels])  # written with the rest
        uow.emit(_erased())

    def first() -> None:
        log.append("first callback")

    async with unit_of_work(sessions, relay=_Relay(log)) as uow:
        uow.before_commit(fold, ["a"])
        uow.on_commit(first)
        uow.emit(_erased())
        uow.before_commit(fold, ["b"])
        uow.on_commit(lambda: log.append("second callback"))
        uow.on_commit(first)  # asked for twice: runs once
        assert log == []
    assert log == [
        "fold ['a', 'b']",
        "relay remembers 2",
        "relay woken",
        "first callback",
        "second callback",
    ]
    async with engine.connect() as conn:
        steps = (await conn.execute(select(STEPS.c.label).order_by(STEPS.c.seq))).scalars().all()
        events = await conn.scalar(select(func.count()).select_from(outbox_table))
    assert (steps, events) == (["a", "b"], 2)


async def test_array_insert_stores_what_sqlalchemy_stores(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(THEIRS), ROWS)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with unit_of_work(sessions) as uow:
            uow.stage(OURS, ROWS)
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


def test_array_insert_is_for_postgresql() -> None:
    with pytest.raises(ValueError, match="for PostgreSQL"):
        ArrayInsert.of(STEPS, ("label",), sqlite.dialect(), "t0")


async def test_replace_overwrites_a_stored_row_and_inserts_a_new_one(engine: AsyncEngine) -> None:
    pools = POOLS
    async with engine.begin() as conn:
        await conn.execute(insert(pools), [{"pool": "emea", "weights": {"a": 1}, "note": "kept"}])
    inserts = _inserts(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with unit_of_work(sessions) as uow:
        changed = [{"pool": "emea", "weights": {"a": 2}}, {"pool": "apac", "weights": {"b": 1}}]
        uow.stage(pools, changed, replace=True)
        uow.stage(STEPS, [{"label": "with it"}])
    assert len(inserts) == (1 if engine.dialect.name == "postgresql" else 2)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(pools).order_by(pools.c.pool))).all()
    # The columns not given keep their stored values.
    assert [tuple(r) for r in rows] == [("apac", {"b": 1}, None), ("emea", {"a": 2}, "kept")]


def test_replace_needs_a_column_besides_the_key() -> None:
    with pytest.raises(ValueError, match="nothing to replace"):
        ArrayInsert.of(STEPS, ("seq",), postgresql.asyncpg.dialect(), "t0", replace=True)
