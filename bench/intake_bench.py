"""Intake throughput and latency: POST /v1/leads on one uvicorn worker.

marketing-intake itself (`python -m marketing_intake`, relay publishing to the real broker),
ONE uvicorn worker (uvloop + httptools) pinned to core 0, on SQLite and then on PostgreSQL.
Load runs on core 1:

* closed loop: `wrk` (Debian) with a Lua script posting leads with unique emails →
  throughput, p50, p99 (reported, no target);
* open loop at a fixed 500 leads/s: a small asyncio HTTP/1.1 generator in this file (wrk2
  is not packaged) sends each request at its scheduled time on a pool of keep-alive
  connections and measures from that time, so queueing counts (target p99 <= 50 ms).

Each server runs `--repeat` times (3), interleaved; medians are reported. (The ratio to a
bare FastAPI endpoint is no longer a target, issue 21: it rewarded going around the framework.)

    uv run python bench/intake_bench.py [--seconds 8] [--rate 500] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from bench._kafka_bench import (  # noqa: E402
    BOOTSTRAP,
    end_offsets,
    ensure_kafka,
    free_port,
    fresh_pg,
    place_group,
)
from bench._progress import bench_progress, run_timed  # noqa: E402

TARGET_P99_MS = 50.0
SERVER_CORE, LOAD_CORE = "0", "1"
ADMIN = "dev-bench-admin"
BODY = (
    '{"email":"b%s-%d-%d@example.com","first_name":"Ada","last_name":"Lovelace",'
    '"company":"Analytical Engines","job_title":"CTO","country":"DE","phone":"+4930901820",'
    '"company_size":"50-200","utm_source":"bench","utm_campaign":"q4"}'
)
LUA = """
local run, counter, tid, threads = "%(run)s", 0, 0, 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"
function request()
  counter = counter + 1
  local body = string.format('%(body)s', run, tid, counter)
  return wrk.format(nil, "/v1/leads", nil, body)
end
"""


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)  # noqa: S607
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)  # noqa: S607


class Server:
    """One uvicorn worker pinned to the server core."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(  # noqa: S603
            ["taskset", "-c", SERVER_CORE, sys.executable, *argv],  # noqa: S607
            cwd=env.get("LEADFLOW_DATA_DIR", str(ROOT)),
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            try:
                if httpx.get(self.url + path, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def intake_server(name: str, database_url: str, data: Path) -> tuple[Server, str]:
    port = free_port()
    data.mkdir(parents=True, exist_ok=True)
    group = f"bench-intake-{uuid.uuid4().hex[:6]}"  # its own, at the end: no history to read
    asyncio.run(place_group(group, asyncio.run(end_offsets("leads.erased"))))
    env = {
        "LEADFLOW_ADMIN_TOKEN": ADMIN,
        "LEADFLOW_DATABASE_URL": database_url,
        "LEADFLOW_KAFKA_BOOTSTRAP": BOOTSTRAP,
        "LEADFLOW_HTTP_PORT": str(port),
        "LEADFLOW_DATA_DIR": str(data),
        "LEADFLOW_LOG_LEVEL": "WARNING",
        "LEADFLOW_RATE_LIMIT_KEY_PER_SECOND": "0",
        "LEADFLOW_CONSUMER_GROUP": group,
    }
    server = Server(name, ["-m", "marketing_intake"], env, port)
    server.wait("/readyz")
    r = httpx.post(
        f"{server.url}/v1/api-keys",
        json={"name": "bench"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    r.raise_for_status()
    return server, str(r.json()["key"])


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def closed_loop(
    url: str, key: str, seconds: int, connections: int, *, progress: Progress, label: str
) -> dict[str, float]:
    """wrk on the load core: requests/s, p50 and p99 (ms), non-2xx count."""
    script = Path(tempfile.mkdtemp()) / "post.lua"
    run = uuid.uuid4().hex[:8]
    script.write_text(LUA % {"run": run, "key": key, "body": BODY.replace("%s", "%s")})
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--latency", "-s", str(script), url]
    out = run_timed(argv, seconds, progress, label)
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(latency["50"]),
        "p99_ms": _ms(latency["99"]),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


# ---------------------------------------------------------------- open loop (fixed rate)


async def _open_loop(url: str, key: str, rate: float, seconds: float) -> dict[str, float]:
    host, port = url.removeprefix("http://").split(":")
    run = uuid.uuid4().hex[:8]
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        idle.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    failures = 0

    async def one(i: int, due: float) -> None:
        nonlocal failures
        reader, writer = await idle.get()
        body = (BODY % (run, 0, i)).encode()
        writer.write(
            b"POST /v1/leads HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - due)
        if not head.startswith(b"HTTP/1.1 202"):
            failures += 1
        idle.put_nowait((reader, writer))

    tasks = []
    start = time.perf_counter() + 0.1
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    latencies.sort()
    return {
        "rate": rate,
        "sent": float(len(latencies)),
        "failures": float(failures),
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def open_loop(
    url: str, key: str, rate: float, seconds: float, *, progress: Progress, label: str
) -> dict[str, float]:
    """Run the generator in its own process on the load core."""
    argv = ["taskset", "-c", LOAD_CORE, sys.executable, __file__, "--open-loop", url, key]
    out = run_timed([*argv, str(rate), str(seconds)], seconds, progress, label)
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def measure(
    server: Server, key: str, args: argparse.Namespace, progress: Progress
) -> dict[str, Any]:
    name, url = server.name, server.url
    closed_loop(url, key, 2, args.connections, progress=progress, label=f"{name}: warm-up")
    wrk = f"{name}: wrk, {args.connections} connections"
    closed = closed_loop(url, key, args.seconds, args.connections, progress=progress, label=wrk)
    at = f"{name}: {args.rate:.0f} leads/s"
    fixed = open_loop(url, key, args.rate, args.seconds, progress=progress, label=at)
    print(
        f"  {server.name:15s} {closed['rps']:8.0f} req/s  p50 {closed['p50_ms']:6.1f} ms  "
        f"p99 {closed['p99_ms']:6.1f} ms  non-2xx {closed['non_2xx']:.0f} | at {args.rate:.0f}/s: "
        f"p50 {fixed['p50_ms']:5.1f} ms  p99 {fixed['p99_ms']:5.1f} ms  "
        f"max {fixed['max_ms']:6.1f} ms  failed {fixed['failures']:.0f}",
        flush=True,
    )
    return {"closed_loop": closed, "fixed_rate": fixed}


def run_once(
    name: str, data: Path, pg_admin: str | None, args: argparse.Namespace, progress: Progress
) -> dict[str, Any]:
    """One run of intake on a fresh database."""
    url = f"sqlite+aiosqlite:///{data}/intake.db"
    if name == "postgres":
        assert pg_admin is not None
        url = asyncio.run(fresh_pg(pg_admin))
    server, key = intake_server(f"intake-{name}", url, data)
    try:
        return measure(server, key, args, progress)
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="skip the other database")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each server (medians)")
    args = parser.parse_args()
    ensure_wrk()
    ensure_kafka()
    pg_admin = os.environ.get("LEADFLOW_TEST_POSTGRES_URL")
    base = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    print(
        f"intake bench: {args.seconds} s per run, wrk -c{args.connections}, server on core "
        f"{SERVER_CORE}, load on core {LOAD_CORE}",
        flush=True,
    )
    names = ["sqlite", *(["postgres"] if pg_admin else [])]
    if not pg_admin:
        print("  (PostgreSQL skipped: LEADFLOW_TEST_POSTGRES_URL is not set)")
    if args.only:
        names = [args.only]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with bench_progress() as progress:
        overall = progress.add_task("intake bench", total=args.repeat * len(names))
        # Interleaved repeats, medians compared: on two shared cores one run swings by a third.
        for rep in range(args.repeat):
            for name in names:
                progress.update(overall, description=f"intake bench: {name} ({rep + 1})")
                runs[name].append(run_once(name, base / f"{name}-{rep}", pg_admin, args, progress))
                progress.advance(overall)
    results: dict[str, Any] = {"repeat": args.repeat, "runs": runs}
    print(f"medians of {args.repeat} runs (every run in brackets)")
    ok = True
    for name in names:
        rps = [r["closed_loop"]["rps"] for r in runs[name]]
        p99 = [r["fixed_rate"]["p99_ms"] for r in runs[name]]
        failed = sum(r["fixed_rate"]["failures"] + r["closed_loop"]["non_2xx"] for r in runs[name])
        got = {
            "rps": statistics.median(rps),
            "p99_at_rate_ms": statistics.median(p99),
            "failed": failed,
        }
        got["targets_met"] = met = got["p99_at_rate_ms"] <= TARGET_P99_MS and failed == 0
        ok = ok and met
        line = (
            f"  {name:9s} {got['rps']:6.0f} req/s [{', '.join(f'{x:.0f}' for x in rps)}]  "
            f"p99 at {args.rate:.0f}/s {got['p99_at_rate_ms']:6.1f} ms "
            f"[{', '.join(f'{x:.0f}' for x in p99)}]  failed {failed:.0f}  → target p99 <= "
            f"{TARGET_P99_MS:.0f} ms, none failed — {'met' if met else 'NOT MET'}"
        )
        results[name] = got
        print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--open-loop":
        _, _, url, key, rate, seconds = sys.argv
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        print(json.dumps(asyncio.run(_open_loop(url, key, float(rate), float(seconds)))))
        sys.exit(0)
    sys.exit(main())
