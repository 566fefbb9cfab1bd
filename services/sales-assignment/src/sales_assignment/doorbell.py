"""The doorbell that wakes the webhook delivery worker once a transaction has committed."""

from __future__ import annotations

import asyncio

from leadflow.schedule import wait_or_timeout


class Doorbell:
    """Wakes the delivery worker after a commit (like the kernel's `OutboxRelay.wake`):
    a transaction asks for it with `uow.on_commit(doorbell.ring)`."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Return when rung or after `seconds`, whichever comes first."""
        await wait_or_timeout(self._event, seconds)
        self._event.clear()
