"""The doorbell rings once per committed transaction however often it is armed, never for a
rolled-back one, and a session's next transaction after a rollback rings again."""

from __future__ import annotations

from sqlalchemy import text

from leadflow.db import create_engine, session_factory
from sales_assignment.doorbell import Doorbell


class CountingBell(Doorbell):
    def __init__(self) -> None:
        super().__init__()
        self.rings = 0

    def ring(self) -> None:
        self.rings += 1
        super().ring()


async def test_rings_once_per_commit_and_never_for_a_rollback(database_url: str) -> None:
    engine = create_engine(database_url)
    bell = CountingBell()
    try:
        async with session_factory(engine)() as session:
            async with session.begin():
                await session.execute(text("SELECT 1"))
                bell.ring_after_commit(session)
                bell.ring_after_commit(session)
            assert bell.rings == 1

            await session.execute(text("SELECT 1"))  # begins
            bell.ring_after_commit(session)
            await session.rollback()
            assert bell.rings == 1

            async with session.begin():
                await session.execute(text("SELECT 1"))
                bell.ring_after_commit(session)
            assert bell.rings == 2
    finally:
        await engine.dispose()
