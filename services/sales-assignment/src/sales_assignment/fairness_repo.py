"""The fairness ledger's SQL: per-rep sums over the lines of a window's routing decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.fairness import RepFairness
from sales_assignment.models import FairnessLineRow, RepRow

L = FairnessLineRow
PURGE_BATCH = 10_000  # lines one retention transaction deletes at most


async def rep_totals(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[uuid.UUID, RepFairness]:
    """Per rep of the decisions made in [start, end): eligible, expected, actual, skips."""
    window = (L.decided_at >= start, L.decided_at < end)
    sums = (
        select(
            L.rep_id,
            func.sum(case((L.eligible, 1), else_=0)),
            func.sum(L.share),
            func.sum(case((L.chosen, 1), else_=0)),
        )
        .where(*window)
        .group_by(L.rep_id)
    )
    reps = {
        rep_id: RepFairness(str(rep_id), None, int(eligible), float(expected), int(actual))
        for rep_id, eligible, expected, actual in (await session.execute(sums)).all()
    }
    skips = (
        select(L.rep_id, L.skipped, func.count())
        .where(*window, L.skipped.is_not(None))
        .group_by(L.rep_id, L.skipped)
    )
    for rep_id, kind, n in (await session.execute(skips)).all():
        reps[rep_id].skipped[str(kind)] = int(n)
    return reps


async def decisions(session: AsyncSession, start: datetime, end: datetime) -> int:
    """How many decisions of [start, end) the ledger holds."""
    stmt = select(func.count(func.distinct(L.decision_id))).where(
        L.decided_at >= start, L.decided_at < end
    )
    return int(await session.scalar(stmt) or 0)


async def since(session: AsyncSession) -> datetime | None:
    """When the ledger's first decision was made (older ones are not in it)."""
    return await session.scalar(select(func.min(L.decided_at)))


async def reps_named(session: AsyncSession, rep_ids: list[uuid.UUID]) -> list[RepRow]:
    """The reps of these ids, retired and inactive ones too (they keep their history)."""
    return list(await session.scalars(select(RepRow).where(RepRow.rep_id.in_(rep_ids))))


async def purge_lines(session: AsyncSession, before: datetime) -> int:
    """Delete up to `PURGE_BATCH` lines of decisions made before `before`; how many."""
    oldest = select(L.id).where(L.decided_at < before).order_by(L.decided_at).limit(PURGE_BATCH)
    stmt = delete(L).where(L.id.in_(oldest)).execution_options(synchronize_session=False)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
