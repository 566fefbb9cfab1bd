"""Checks that a loop cancelled just as it is woken stops (Python 3.11's wait_for could
swallow such a cancel)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


async def cancelled_as_woken(
    wait: Callable[[], Coroutine[Any, Any, None]], wake: Callable[[], None]
) -> None:
    """Run `wait` in a loop, then wake it and cancel the loop in one turn of the event loop:
    the loop must end cancelled."""

    async def loop() -> None:
        while True:  # as the services' loops: wait, work, wait again
            await wait()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)  # waiting now
    wake()
    task.cancel()  # in the same turn of the event loop as the wake
    done, _ = await asyncio.wait([task], timeout=2)
    assert done, "the loop went on after it was cancelled"
    assert task.cancelled()
