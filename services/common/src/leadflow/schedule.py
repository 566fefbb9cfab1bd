"""Background passes on a schedule: housekeeping that must not wait for a request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

# A leaf of the kernel (the outbox, the bus and erasure_log run on it): it imports none of
# the modules that build a service, so a runtime is typed here by what a pass uses of it.
# A worker: a background task of a service (`Runtime.workers`), started and stopped with it.
Worker = Callable[[], Coroutine[Any, Any, None]]

log = logging.getLogger(__name__)


class _Transaction(Protocol):
    @property
    def session(self) -> AsyncSession: ...


class Transactional(Protocol):
    """What opens a transaction: a service's `Runtime` (its units of work)."""

    def transaction(self) -> contextlib.AbstractAsyncContextManager[_Transaction]: ...


def every(seconds: float, step: Callable[[], Awaitable[object]]) -> Worker:
    """A worker running `step` now and then every `seconds`; a failed pass (the database
    away) is logged and the next one tries again, so the worker itself never dies of it."""

    async def loop() -> None:
        task = asyncio.current_task()  # Runtime.start names it after the worker
        name = task.get_name() if task is not None else "?"
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("background pass %s failed: %s: %s", name, type(exc).__name__, exc)
            await asyncio.sleep(seconds)

    return loop


async def purge_older_than(
    rt: Transactional,
    retention_days: float,
    purge: Callable[[AsyncSession, datetime], Awaitable[int]],
    *,
    what: str,
    logger: logging.Logger = log,
    batch: int | None = None,
) -> int:
    """One retention pass: `purge` what is older than `retention_days` in one transaction,
    log how many `what` went (when any) and return that count. With `batch` (the most one
    `purge` call deletes), it is called again, a transaction each, until it deletes fewer:
    a large backlog never holds one long transaction."""
    before = datetime.now(UTC) - timedelta(days=retention_days)
    purged = 0
    while True:
        async with rt.transaction() as uow:
            n = await purge(uow.session, before)
        purged += n
        if batch is None or n < batch:
            break
    if purged:
        logger.info("%s purged", what, extra={"count": purged})
    return purged


async def wait_or_timeout(event: asyncio.Event, seconds: float) -> bool:
    """Return once `event` is set or after `seconds`, whichever comes first; whether it is."""
    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancel that comes as
    # the event is set, and a loop would go on after being stopped (bpo-42130, fixed in 3.12).
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
