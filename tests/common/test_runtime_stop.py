"""A stop ends in bounded time even when a task will not: it says which, and goes on."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from kernel_app import create_tables, make_settings, recording_handlers

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


async def test_a_runtime_started_again_after_a_stop_runs_again(tmp_path: Path) -> None:
    # A test client runs an app's lifespan once per test: the consumers and the relay must
    # run again, and the tasks of the first run must not be reported as ended workers.
    url = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    rt = Runtime.build(make_settings(url, f"127.0.0.1:{closed_port()}"))
    await create_tables(rt)
    rt.consume(["leads.erased"], recording_handlers())
    for _ in range(2):
        await rt.start()
        await asyncio.sleep(0.3)
        assert rt.stuck() is None
        running = [t.get_name() for t in rt._tasks if not t.done()]
        assert running == ["outbox-relay", "consume-kernel-test"]
        with pytest.raises(RuntimeError, match="running"):
            await rt.start()
        await rt.stop()
        assert rt._tasks == []
