"""Housekeeping on a schedule: what intake must not keep for ever."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.settings import IntakeSettings

log = logging.getLogger(__name__)


async def purge_idempotency(rt: Runtime) -> int:
    """Delete every Idempotency-Key answer past `idempotency_ttl_hours`, a batch per
    transaction; how many (a background pass, so keys do not pile up between replays)."""
    settings = rt.settings
    assert isinstance(settings, IntakeSettings)
    cutoff = datetime.now(UTC) - timedelta(hours=settings.idempotency_ttl_hours)
    purged = 0
    while True:
        async with rt.transaction() as s:
            n = await repo.forget_some_before(s, cutoff, settings.idempotency_purge_batch)
        purged += n
        if n < settings.idempotency_purge_batch:
            break
    if purged:
        log.info("idempotency keys purged", extra={"count": purged})
    return purged
