"""Background loops a service's runtime runs beside its consumers (`Runtime.workers`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from leadflow.service import Worker

log = logging.getLogger(__name__)


def every(seconds: float, step: Callable[[], Awaitable[object]]) -> Worker:
    """A background loop running `step` every `seconds`; a failed pass is logged and retried."""

    async def loop() -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database away: the next pass tries again
                log.warning("background pass failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(seconds)

    return loop
