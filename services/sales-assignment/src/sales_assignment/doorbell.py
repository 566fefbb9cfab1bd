"""The doorbell that wakes the webhook delivery worker once a transaction has committed."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.db import on_commit
from leadflow.schedule import wait_or_timeout

_RINGS = "sales_assignment.doorbell"


class Doorbell:
    """Wakes the delivery worker after a commit (like the kernel's `OutboxRelay.wake`)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        self._event.set()

    def ring_after_commit(self, session: AsyncSession) -> None:
        """Ring once the session's transaction commits; nothing happens on a rollback."""
        sync = session.sync_session
        # Marked with the transaction, which a rollback ends too: the next one rings again.
        armed = (self, sync.get_transaction())
        if sync.info.get(_RINGS) == armed:
            return  # already armed: one ring per transaction however many deliveries
        sync.info[_RINGS] = armed
        on_commit(session, self.ring)

    async def wait(self, seconds: float) -> None:
        """Return when rung or after `seconds`, whichever comes first."""
        await wait_or_timeout(self._event, seconds)
        self._event.clear()
