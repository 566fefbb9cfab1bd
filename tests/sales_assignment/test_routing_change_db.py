"""`repo.routing_change`: the transaction every admin change to reps, rules, owners,
experiments or an assignment runs in, under the routing lock (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sales_assignment import repo
from sales_assignment.assigning import Assigner
from sales_assignment.models import RoutingLockRow

pytestmark = pytest.mark.postgres


async def generation(s: AsyncSession) -> int:
    return int((await s.execute(select(RoutingLockRow.generation))).scalar_one())


async def refused(a: Assigner) -> None:
    """A change that fails after taking the lock."""
    async with repo.routing_change(a.rt) as uow:
        await generation(uow.session)
        raise RuntimeError("refused")


async def test_a_routing_change_holds_the_lock_and_its_count_stands_or_falls_with_it(
    a: Assigner,
) -> None:
    async with a.rt.sessions() as s:
        before = await generation(s)

    async with repo.routing_change(a.rt) as uow:
        assert await generation(uow.session) == before + 1  # taken: a routing change counted
    with pytest.raises(RuntimeError, match="refused"):
        await refused(a)

    async with a.rt.sessions() as s:
        assert await generation(s) == before + 1  # the failed change rolled back, count too
