"""The doorbell rings once per committed transaction however often it is asked for (through
the unit of work's `on_commit`), never for a rolled-back one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from leadflow.db import create_engine, session_factory
from leadflow.uow import unit_of_work
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
    sessions = session_factory(engine)
    bell = CountingBell()

    async def rolled_back() -> None:
        async with unit_of_work(sessions) as uow:
            uow.on_commit(bell.ring)
            raise RuntimeError("the handler failed")

    try:
        async with unit_of_work(sessions) as uow:
            await uow.session.execute(text("SELECT 1"))
            uow.on_commit(bell.ring)
            uow.on_commit(bell.ring)
        assert bell.rings == 1

        with pytest.raises(RuntimeError):
            await rolled_back()
        assert bell.rings == 1

        async with unit_of_work(sessions) as uow:
            uow.on_commit(bell.ring)
        assert bell.rings == 2
    finally:
        await engine.dispose()
