"""Group commit against a real SQLite database: shared transactions, isolated errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from leadflow.db import create_engine, session_factory
from leadflow.groupcommit import GroupCommit
from leadflow.uow import Transaction, UnitOfWork, unit_of_work


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Transaction]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/g.db")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY)"))
    sessions = session_factory(engine)
    yield lambda: unit_of_work(sessions)
    await engine.dispose()


async def stored(transaction: Transaction) -> list[int]:
    async with transaction() as uow:
        return list((await uow.session.execute(text("SELECT x FROM t ORDER BY x"))).scalars())


async def insert_all(uow: UnitOfWork, items: Sequence[int]) -> list[int]:
    for x in items:
        if x < 0:
            raise ValueError(f"bad item {x}")
        await uow.session.execute(text("INSERT INTO t (x) VALUES (:x)"), {"x": x})
    return [x * 10 for x in items]


async def test_concurrent_callers_share_one_transaction_and_each_gets_its_answer(
    db: Transaction,
) -> None:
    group: GroupCommit[int, int] = GroupCommit(db, insert_all)
    answers = await asyncio.gather(*(group.submit(x) for x in range(1, 21)))
    assert answers == [x * 10 for x in range(1, 21)]
    assert group.flushes == 1
    assert await stored(db) == list(range(1, 21))


async def test_a_lone_caller_is_written_at_once(db: Transaction) -> None:
    group: GroupCommit[int, int] = GroupCommit(db, insert_all)
    assert await asyncio.wait_for(group.submit(7), timeout=5) == 70
    assert await group.submit(8) == 80
    assert group.flushes == 2


async def test_callers_arriving_during_a_flush_go_together_in_the_next(db: Transaction) -> None:
    group: GroupCommit[int, int] = GroupCommit(db, insert_all)
    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)  # the writer has taken item 1 and is in its transaction
    rest = [asyncio.create_task(group.submit(x)) for x in range(2, 12)]
    assert await first == 10
    assert await asyncio.gather(*rest) == [x * 10 for x in range(2, 12)]
    assert group.flushes == 2


async def test_one_bad_item_fails_only_its_caller(db: Transaction) -> None:
    group: GroupCommit[int, int] = GroupCommit(db, insert_all)
    answers = await asyncio.gather(*(group.submit(x) for x in (1, -2, 3)), return_exceptions=True)
    assert answers[0] == 10
    assert answers[2] == 30
    assert isinstance(answers[1], ValueError)
    assert await stored(db) == [1, 3]  # the others were written, each in its own transaction
    assert group.flushes == 4  # the shared one (rolled back), then one per item


async def test_a_database_away_fails_everyone_at_once_without_retries(db: Transaction) -> None:
    async def away(uow: UnitOfWork, items: Sequence[int]) -> list[int]:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("no database"))

    group: GroupCommit[int, int] = GroupCommit(db, away)
    answers = await asyncio.gather(*(group.submit(x) for x in range(5)), return_exceptions=True)
    assert all(isinstance(a, OperationalError) for a in answers)
    assert group.flushes == 1


async def test_groups_are_bounded_in_size(db: Transaction) -> None:
    group: GroupCommit[int, int] = GroupCommit(db, insert_all, max_items=4)
    answers = await asyncio.gather(*(group.submit(x) for x in range(1, 11)))
    assert answers == [x * 10 for x in range(1, 11)]
    assert group.flushes == 3  # 4 + 4 + 2
