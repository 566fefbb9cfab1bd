"""The kernel's one wait-or-timeout: woken by its event, or let go after the time."""

from __future__ import annotations

import asyncio
import time

from leadflow.schedule import wait_or_timeout
from support.cancelling import cancelled_as_woken


async def test_returns_true_as_soon_as_the_event_is_set() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, event.set)
    started = time.monotonic()
    assert await wait_or_timeout(event, 30)
    assert time.monotonic() - started < 5


async def test_returns_false_after_the_time_when_nothing_sets_it() -> None:
    started = time.monotonic()
    assert not await wait_or_timeout(asyncio.Event(), 0.05)
    assert time.monotonic() - started >= 0.05


async def test_a_set_event_returns_at_once_and_stays_set() -> None:
    event = asyncio.Event()
    event.set()
    assert await wait_or_timeout(event, 30)
    assert event.is_set()


async def test_a_cancel_that_comes_as_the_event_is_set_stops_the_waiting_loop() -> None:
    event = asyncio.Event()

    async def wait() -> None:
        await wait_or_timeout(event, 30)
        event.clear()

    await cancelled_as_woken(wait, event.set)
