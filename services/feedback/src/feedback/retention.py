"""Retention: the journey does not grow for ever (a background task runs this)."""

from __future__ import annotations

import logging

from feedback import repo
from leadflow.schedule import purge_older_than
from leadflow.service import Runtime

log = logging.getLogger(__name__)


async def purge_journey(rt: Runtime, retention_days: float) -> int:
    """Delete the journey rows of what happened longer ago than the retention; how many.
    The funnel's per-lead facts are kept: its figures do not change."""
    return await purge_older_than(
        rt, retention_days, repo.purge_journey, what="journey rows", logger=log
    )
