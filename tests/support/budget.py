"""Time a call in a child process, so a call that would run for minutes is cut off.

A regular expression that backtracks holds the GIL in the `re` engine: a thread cannot be
timed out, and in-process the test would simply hang as long as the old code ran.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap


def seconds_taken(setup: str, call: str, *, deadline: float = 30.0) -> float:
    """Seconds `call` took after `setup` (exceptions it raises are fine); inf past `deadline`."""
    code = "\n".join(
        [
            textwrap.dedent(setup),
            "import time",
            "started = time.perf_counter()",
            "try:",
            textwrap.indent(textwrap.dedent(call), "    "),
            "except Exception:",
            "    pass",
            "print(time.perf_counter() - started)",
        ]
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            check=False,
            capture_output=True,
            text=True,
            timeout=deadline,
        )
    except subprocess.TimeoutExpired:
        return math.inf
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])
