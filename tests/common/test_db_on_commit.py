"""`on_commit` runs its work once the transaction commits, in order, never after a rollback,
and a session's later transactions each run only their own."""

from __future__ import annotations

from sqlalchemy import text

from leadflow.db import create_engine, on_commit, session_factory


async def test_runs_after_commit_only_and_each_transaction_its_own(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    ran: list[str] = []
    try:
        async with sessions() as session:
            async with session.begin():
                on_commit(session, lambda: ran.append("first"))
                on_commit(session, lambda: ran.append("second"))
                await session.execute(text("SELECT 1"))
                assert ran == []  # not before the commit
            assert ran == ["first", "second"]

            await session.execute(text("SELECT 1"))  # begins
            on_commit(session, lambda: ran.append("rolled back"))
            await session.rollback()
            async with session.begin():
                on_commit(session, lambda: ran.append("third"))
                await session.execute(text("SELECT 1"))
            async with session.begin():
                await session.execute(text("SELECT 1"))
        assert ran == ["first", "second", "third"]
    finally:
        await engine.dispose()


async def test_work_registered_while_committing_waits_for_the_next_commit(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    ran: list[str] = []
    try:
        async with sessions() as session:

            def first() -> None:
                ran.append("first")
                on_commit(session, lambda: ran.append("next"))

            async with session.begin():
                on_commit(session, first)
                await session.execute(text("SELECT 1"))
            assert ran == ["first"]
            async with session.begin():
                await session.execute(text("SELECT 1"))
        assert ran == ["first", "next"]
    finally:
        await engine.dispose()
