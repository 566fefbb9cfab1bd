"""Retention: webhook deliveries do not pile up for ever (a background task runs this)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from leadflow.service import Runtime
from sales_assignment import webhook_repo

log = logging.getLogger(__name__)


async def purge_deliveries(rt: Runtime, retention_days: float) -> int:
    """Delete delivered, failed and dead deliveries last attempted longer ago than the
    retention; how many."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    async with rt.transaction() as session:
        purged = await webhook_repo.purge_deliveries(session, before)
    if purged:
        log.info("webhook deliveries purged", extra={"count": purged})
    return purged
