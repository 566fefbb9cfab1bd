"""schedule.every: a failed pass is logged under the worker's name and the next one runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from leadflow.schedule import every


async def test_a_failed_pass_is_logged_under_the_workers_name_and_the_next_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    passes = 0

    async def step() -> None:
        nonlocal passes
        passes += 1
        if passes == 1:
            raise OSError("database away")

    caplog.set_level(logging.WARNING, logger="leadflow.schedule")
    task = asyncio.create_task(every(0.01, step)(), name="retention")
    try:
        async with asyncio.timeout(10):
            while passes < 3:
                await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    failed = [r.getMessage() for r in caplog.records if r.name == "leadflow.schedule"]
    assert failed == ["background pass retention failed: OSError: database away"]
