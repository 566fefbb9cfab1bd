"""A stop ends in bounded time even when a task will not: it says which, and goes on."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from kernel_app import make_settings

from leadflow import service
from leadflow.service import Runtime
from support.infra import closed_port


async def test_a_task_that_ignores_its_cancel_does_not_hang_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(service, "STOP_SECONDS", 0.5)
    url = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    rt = Runtime.build(make_settings(url, f"127.0.0.1:{closed_port()}"))
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)

    rt.workers.append(("stubborn", stubborn))
    await rt.start()
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await rt.stop()
    assert time.monotonic() - started < 8
    assert "task stubborn did not stop" in caplog.text
    release.set()
