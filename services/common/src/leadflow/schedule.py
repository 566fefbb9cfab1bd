"""Background passes on a schedule: housekeeping that must not wait for a request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from leadflow.service import Worker

log = logging.getLogger(__name__)


def every(seconds: float, step: Callable[[], Awaitable[object]], *, name: str = "") -> Worker:
    """A worker running `step` now and then every `seconds`; a failed pass (the database
    away) is logged and the next one tries again, so the worker itself never dies of it."""

    async def loop() -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("background pass %s failed: %s: %s", name, type(exc).__name__, exc)
            await asyncio.sleep(seconds)

    return loop
