"""The agreement's SQL: the one stored agreement, and the facts of a month's leads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import Agreement, LeadFacts

AGREEMENT_ID = 1  # one agreement: the latest PUT replaces it


async def get_agreement(session: AsyncSession) -> Agreement | None:
    return await session.get(Agreement, AGREEMENT_ID)


async def put_agreement(session: AsyncSession, doc: dict[str, Any], now: datetime) -> Agreement:
    """Store the agreement, replacing the one before."""
    row = await session.get(Agreement, AGREEMENT_ID, with_for_update=True)
    if row is None:
        row = Agreement(agreement_id=AGREEMENT_ID, doc=doc, updated_at=now)
        session.add(row)
    else:
        row.doc, row.updated_at = doc, now
    return row


async def facts_of_month(
    session: AsyncSession, start: datetime, end: datetime
) -> Sequence[LeadFacts]:
    """Leads that became MQLs or were first assigned in [start, end), captured ones only."""
    stmt = select(LeadFacts).where(
        LeadFacts.captured_at.is_not(None),
        or_(
            (LeadFacts.mql_at >= start) & (LeadFacts.mql_at < end),
            (LeadFacts.assigned_at >= start) & (LeadFacts.assigned_at < end),
        ),
    )
    return list(await session.scalars(stmt))
