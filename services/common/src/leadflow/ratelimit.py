"""In-process token buckets per key (an API key, a client address): limits hold per replica.

Each key may spend `burst` requests at once and then `rate` a second. `take` answers 0 when
the request may go ahead, else how many seconds until it would (for `Retry-After`). Beyond
`max_keys` the least recently used keys are forgotten, but never one that is limited: else a
flood of fresh keys (addresses) would hand a blocked one a new burst. Memory stays bounded
by what the limited keys cost their owners (a burst each).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBuckets:
    """A token bucket per key; a `rate` of 0 disables the limit."""

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or burst < 1:
            raise ValueError("rate must be >= 0 and burst >= 1")
        self.rate = rate
        self.burst = float(burst)
        self._max_keys = max_keys
        self._sweep_above = max_keys  # when to forget keys next
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, at)

    def __len__(self) -> int:
        return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until `key` could spend `cost` tokens, spending nothing (0.0: now)."""
        if not self.enabled or key not in self._buckets:
            return 0.0
        tokens, at = self._buckets[key]
        tokens = min(self.burst, tokens + (self._clock() - at) * self.rate)
        return 0.0 if tokens >= cost else (min(cost, self.burst) - tokens) / self.rate

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend `cost` tokens of `key`: 0.0 if allowed, else seconds until it would be."""
        if not self.enabled:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        wait = 0.0
        if tokens >= cost:
            tokens -= cost
        else:
            wait = (min(cost, self.burst) - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self._sweep_above:
            self._forget(now)
        return wait

    def _forget(self, now: float) -> None:
        """Forget the least recently used keys down to 90 % of `max_keys`, keeping each one
        still limited (moved to the back, so the next sweep does not scan it first)."""
        target = self._max_keys * 9 // 10
        for _ in range(len(self._buckets)):
            if len(self._buckets) <= target:
                break
            key = next(iter(self._buckets))
            tokens, at = self._buckets[key]
            if tokens + (now - at) * self.rate < 1:  # limited: forgetting it would unblock it
                self._buckets.move_to_end(key)
            else:  # could take a request now: forgetting it at most refills its burst
                del self._buckets[key]
        # Sweeps at most every tenth of `max_keys` new keys, even when all kept are limited.
        self._sweep_above = max(self._max_keys, len(self._buckets) + self._max_keys // 10)


def retry_after(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
