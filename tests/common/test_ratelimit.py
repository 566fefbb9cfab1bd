"""The kernel's token buckets: burst, refill, per key, bounded memory, off switch."""

from __future__ import annotations

from leadflow.ratelimit import TokenBuckets, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate_with_the_wait_until_the_next_token() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == 0.5
    assert buckets.take("b") == 0  # another key, its own budget
    clock.now = 0.5
    assert buckets.take("a") == 0
    assert retry_after(0.01) == "1"
    assert retry_after(2.2) == "3"


def test_memory_is_bounded_and_a_zero_rate_is_off() -> None:
    buckets = TokenBuckets(rate=1, burst=1, max_keys=2, clock=Clock())
    for key in "abc":
        buckets.take(key)
    assert buckets.take("a") == 0  # forgotten, so full again
    off = TokenBuckets(rate=0, burst=1)
    assert all(off.take("x") == 0 for _ in range(100))
