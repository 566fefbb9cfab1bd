"""The kernel's token buckets: burst, refill, per key, bounded memory, off switch."""

from __future__ import annotations

import pytest

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
    buckets = TokenBuckets(rate=1, burst=2, max_keys=2, clock=Clock())
    for key in "abc":
        buckets.take(key)
    assert len(buckets) <= 2
    assert buckets.take("a") == 0  # forgotten, so full again
    assert buckets.take("a") == 0
    off = TokenBuckets(rate=0, burst=1)
    assert all(off.take("x") == 0 for _ in range(100))


def test_a_flood_of_fresh_keys_never_frees_a_limited_one() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=10 / 60, burst=20, max_keys=1000, clock=clock)
    for _ in range(21):
        buckets.take("203.0.113.7")
    blocked = buckets.wait("203.0.113.7")
    assert blocked > 0
    for n in range(100_000):  # fresh addresses push the blocked one to the back of the LRU
        clock.now += 0.00001
        assert buckets.take(f"2001:db8:{n:x}::/64") == 0
    assert buckets.wait("203.0.113.7") == pytest.approx(blocked - clock.now)
    assert len(buckets) <= 1000  # the rest still forgotten: memory stays bounded
