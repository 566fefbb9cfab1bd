"""The job-title cache stays small whatever titles arrive (each may be as long as a body)."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from lead_scoring.titles import _cached, seniority

MIB = 1 << 20


def retained_bytes(work: Callable[[], None]) -> int:
    """Bytes still allocated after `work` (and a collection) that it allocated, from an
    empty cache (a full one would make room for new titles by dropping old ones)."""
    _cached.cache_clear()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_long_titles_are_scored_but_not_kept() -> None:
    def work() -> None:
        for i in range(24):
            assert seniority(f"Chief Revenue Officer {i} " + "x" * 256 * 1024) == "c_level"

    assert retained_bytes(work) < 1 * MIB  # 24 titles of 256 KiB went through (6 MiB)


def test_many_distinct_titles_keep_the_cache_under_its_bound() -> None:
    def work() -> None:
        for i in range(6_000):  # more than the cache's 4,096 entries: it must evict
            # Characters beyond the BMP take 4 bytes each in a str: ~1 KiB per title.
            assert seniority(f"Sales Manager {i} " + "\U0001f600" * 200) == "manager"

    assert retained_bytes(work) < 3 * MIB  # 6 MiB of titles went through (4 MiB if cached)


def test_many_distinct_titles_short_enough_to_keep_stay_under_the_bound() -> None:
    def work() -> None:
        for i in range(12_000):
            assert seniority(f"Sales Manager {i:05d} " + "x" * 236) == "manager"  # 256 chars

    assert retained_bytes(work) < 3 * MIB  # 3.7 MB of titles went through


def test_a_title_seen_again_gets_the_same_answer() -> None:
    title = "Vice President of Sales"
    assert seniority(title) == "vp"
    assert seniority(title) == "vp"
    assert seniority("  ") is None
    assert seniority("Unknowable") is None
    assert seniority("Unknowable") is None
