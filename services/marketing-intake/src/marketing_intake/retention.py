"""Housekeeping on a schedule: what intake must not keep for ever."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.schedule import purge_older_than
from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.settings import IntakeSettings

log = logging.getLogger(__name__)


async def purge_idempotency(rt: Runtime) -> int:
    """Delete every Idempotency-Key answer past `idempotency_ttl_hours`, a batch per
    transaction; how many (a background pass, so keys do not pile up between replays)."""
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)
    batch = settings.idempotency_purge_batch

    async def purge(session: AsyncSession, before: datetime) -> int:
        return await repo.forget_some_before(session, before, batch)

    return await purge_older_than(
        rt,
        settings.idempotency_ttl_hours / 24,
        purge,
        what="idempotency keys",
        logger=log,
        batch=batch,
    )
