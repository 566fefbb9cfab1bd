"""The benchmarks' progress bar (rich): drawn on a terminal only, and gone once done.

Printed figures and the JSON file stay as they are: on a terminal, lines printed while the
bar is up appear above it; piped or in CI the bar is disabled and nothing extra is written.
"""

from __future__ import annotations

import subprocess
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


def bench_progress() -> Progress:
    """A transient progress display on stdout; disabled when stdout is not a terminal."""
    # soft_wrap: lines printed meanwhile pass through whole, never cut at the terminal width.
    console = Console(soft_wrap=True)
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def run_timed(argv: list[str], seconds: float, progress: Progress, description: str) -> str:
    """Run a load generator that takes about `seconds`, the bar advancing with time; its stdout.

    Raises CalledProcessError like `subprocess.run(check=True)`.
    """
    task = progress.add_task(description, total=max(seconds, 1))
    started = time.monotonic()
    with subprocess.Popen(  # noqa: S603
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        while True:
            try:
                out, err = proc.communicate(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                progress.update(task, completed=min(seconds, time.monotonic() - started))
    progress.remove_task(task)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    return out
