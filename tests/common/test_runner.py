"""A service process tunes the interpreter for batches and for its database thread."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest

from leadflow.runner import SWITCH_INTERVAL_SECONDS, YOUNG_GC_THRESHOLD, tune_gc, tune_threads


@pytest.fixture
def interpreter() -> Iterator[None]:
    switch, thresholds = sys.getswitchinterval(), gc.get_threshold()
    yield
    sys.setswitchinterval(switch)
    gc.set_threshold(*thresholds)
    gc.unfreeze()


@pytest.mark.usefixtures("interpreter")
def test_threads_get_the_interpreter_within_half_a_millisecond() -> None:
    tune_threads()
    assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL_SECONDS)
    assert SWITCH_INTERVAL_SECONDS < 0.005  # CPython's default


@pytest.mark.usefixtures("interpreter")
def test_young_collections_wait_for_a_batch_and_start_up_objects_are_frozen() -> None:
    tune_gc()
    assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, 50, 100)
    assert YOUNG_GC_THRESHOLD > 700  # CPython's default
    assert gc.get_freeze_count() > 0
