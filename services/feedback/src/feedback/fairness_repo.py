"""The sales-ops page's read: the routing decisions `leads.assigned` events brought in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import JourneyEvent
from leadflow.events import LeadAssigned

CHUNK = 500  # journey entries held at once: a year of assignments never is


async def assignments_between(
    session: AsyncSession, start: datetime, end: datetime, *, chunk: int = CHUNK
) -> AsyncIterator[Sequence[dict[str, Any]]]:
    """The journey data of every assignment made in [start, end), oldest first, streamed
    from a server-side cursor `chunk` entries at a time (the window may hold a year)."""
    stmt = (
        select(JourneyEvent.data)
        .where(
            JourneyEvent.ce_type == LeadAssigned.ce_type,
            JourneyEvent.occurred_at >= start,
            JourneyEvent.occurred_at < end,
        )
        .order_by(JourneyEvent.occurred_at)
        .execution_options(yield_per=chunk)
    )
    result = await session.stream_scalars(stmt)
    async for part in result.partitions(chunk):
        yield part
