"""`make run` (scripts/run.sh) on a broker of its own: it waits for a freshly formatted broker,
and Ctrl-C stops every process it started, even a moment after start, and nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from support.infra import ROOT, free_port, port_open

RUN_SH = ROOT / "scripts" / "run.sh"


def free_block(n: int) -> int:
    """A base port whose next `n` ports are free (the services listen on base+1 … base+n)."""
    for _ in range(50):
        base = free_port()
        if base + n < 65535 and not any(port_open("127.0.0.1", base + i) for i in range(1, n + 1)):
            return base
    raise AssertionError("no block of free ports")


def processes_with(marker: str) -> list[int]:
    """This user's processes whose environment holds `marker` (run.sh's and their children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue  # gone, or another user's
    return found


@pytest.mark.kafka
def test_ctrl_c_right_after_start_stops_every_service_and_the_broker_run_sh_started() -> None:
    when = "starting the services..."  # the services are being spawned, none ready yet
    data = Path(tempfile.mkdtemp(prefix="leadflow-run-"))
    kafka_port = free_port()
    marker = f"LEADFLOW_DATA_DIR={data}"
    env = {
        **os.environ,
        "LEADFLOW_DATA_DIR": str(data),
        "LEADFLOW_KAFKA_HOME": str(data / "kafka"),  # never formatted: run.sh starts it
        "KAFKA_PORT": str(kafka_port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "LEADFLOW_KAFKA_BOOTSTRAP": f"localhost:{kafka_port}",
        "LEADFLOW_RUN_PORT_BASE": str(free_block(4)),
        "LEADFLOW_ADMIN_TOKEN": "dev-run-script-test-token",
    }
    # Its own session and process group, as a terminal's foreground job: Ctrl-C is SIGINT to
    # every process of that group.
    run = subprocess.Popen(
        [str(RUN_SH)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    seen = threading.Event()

    def read() -> None:
        assert run.stdout is not None
        for line in run.stdout:
            lines.append(line)
            if line.strip() == when:
                seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen.wait(180), "".join(lines[-40:])
        assert port_open("127.0.0.1", kafka_port)  # the broker run.sh started answers
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=150)
        reader.join(10)
        output = "".join(lines)
        assert "stopped." in output, output[-4000:]
        assert "topics:" in output  # created once the fresh broker answered metadata
        deadline = time.monotonic() + 10
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with(marker) == [], output[-4000:]
        assert not port_open("127.0.0.1", kafka_port)  # it stopped the broker it started
        assert port_open("127.0.0.1", 9092)  # and nothing else
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        if run.poll() is None:
            run.kill()
        shutil.rmtree(data, ignore_errors=True)  # the broker's log and the SQLite files
