"""Retention: the journey does not grow for ever (a background task runs this)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from feedback import repo
from leadflow.service import Runtime

log = logging.getLogger(__name__)


async def purge_journey(rt: Runtime, retention_days: float) -> int:
    """Delete the journey rows of what happened longer ago than the retention; how many.
    The funnel's per-lead facts are kept: its figures do not change."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    async with rt.transaction() as session:
        purged = await repo.purge_journey(session, before)
    if purged:
        log.info("journey rows purged", extra={"count": purged})
    return purged
