"""The fairness ledger's SQL: per-rep sums over the lines of a window's routing decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.fairness import RepFairness
from sales_assignment.models import FairnessLineRow, HistoryRow, RepRow

L = FairnessLineRow
H = HistoryRow
PURGE_BATCH = 10_000  # lines one retention transaction deletes at most


async def rep_totals(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[uuid.UUID, RepFairness]:
    """Per rep of the decisions made in [start, end): eligible, expected, actual, declined
    (of the leads it got, those it declined later), skips.

    One statement, so every figure reads the same lines: a decision committed between two
    statements would otherwise give a rep skips but no totals.
    """
    declined_later = (
        select(H.id)
        .where(
            H.lead_id == L.lead_id,
            H.rep_id == L.rep_id,
            H.event == "declined",
            H.at >= L.decided_at,
        )
        .exists()
    )
    stmt = (
        select(
            L.rep_id,
            L.skipped,
            func.count(),
            func.sum(case((L.eligible, 1), else_=0)),
            func.sum(L.share),
            func.sum(case((L.chosen, 1), else_=0)),
            func.sum(case((and_(L.chosen, declined_later), 1), else_=0)),
        )
        .where(L.decided_at >= start, L.decided_at < end)
        .group_by(L.rep_id, L.skipped)
    )
    reps: dict[uuid.UUID, RepFairness] = {}
    for rep_id, kind, n, eligible, expected, actual, declined in await session.execute(stmt):
        rep = reps.setdefault(rep_id, RepFairness(str(rep_id)))
        rep.eligible += int(eligible or 0)
        rep.expected += float(expected or 0)
        rep.actual += int(actual or 0)
        rep.declined += int(declined or 0)
        if kind is not None:
            rep.skipped[str(kind)] = int(n)
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
