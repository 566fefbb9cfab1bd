"""The webhook worker's doorbell: a stop that cancels the worker as the bell rings stops it."""

from __future__ import annotations

from sales_assignment.doorbell import Doorbell
from support.cancelling import cancelled_as_woken


async def test_a_cancel_as_the_bell_rings_stops_the_waiting_worker() -> None:
    bell = Doorbell()
    await cancelled_as_woken(lambda: bell.wait(30), bell.ring)
