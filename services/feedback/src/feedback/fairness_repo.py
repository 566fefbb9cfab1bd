"""The sales-ops page's read: the routing decisions `leads.assigned` events brought in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import JourneyEvent
from leadflow.events import LeadAssigned


async def assignments_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The journey data of every assignment made in [start, end), oldest first."""
    stmt = (
        select(JourneyEvent.data)
        .where(
            JourneyEvent.ce_type == LeadAssigned.ce_type,
            JourneyEvent.occurred_at >= start,
            JourneyEvent.occurred_at < end,
        )
        .order_by(JourneyEvent.occurred_at)
    )
    return list(await session.scalars(stmt))
