"""`leadflow routing fairness` against a real sales-assignment served over HTTP (uvicorn).

Two reps (Ann weight 2, Bob weight 1) get three leads through the real routing path, on a
SQLite file; then the app is served on loopback (no lifespan: nothing talks to Kafka) and
the CLI asks it, as an operator would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from assignment_kit import api_rep, handle, qualified, served_by
from fastapi import FastAPI
from typer.testing import CliRunner

from leadflow.cli import app as cli
from support.apps import ADMIN, Served
from support.infra import closed_port

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


async def _seed(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    """Ann (weight 2) and Bob (1), and three leads routed by the handler."""
    ids = {"Ann": await api_rep(http, "Ann", weight=2), "Bob": await api_rep(http, "Bob", weight=1)}
    for _ in range(3):
        await handle(app.state.assigner, qualified(country="DE"))
    return ids


served = served_by(_seed)  # the module's served fixture (read only: its tests change nothing)


def invoke(*args: str) -> Any:
    return runner.invoke(cli, ["routing", "fairness", *args], env=WIDE)


def test_the_cli_prints_expected_and_actual_leads_per_rep(served: Served) -> None:
    base = served.base
    today = datetime.now(UTC).date()
    window = ("--from", str(today), "--to", str(today + timedelta(days=1)))
    r = invoke("--assignment-url", base, "--token", TOKEN, *window)
    assert r.exit_code == 0, r.output
    rows = {line.split("│")[1].strip(): line for line in r.output.splitlines() if "│" in line}
    # 2:1 over three decisions: Ann expects 2 and got 2, Bob expects 1 and got 1.
    assert [c.strip() for c in rows["Ann"].split("│")[2:6]] == ["3", "2.00", "2", "+0.00"]
    assert [c.strip() for c in rows["Bob"].split("│")[2:6]] == ["3", "1.00", "1", "+0.00"]
    assert [c.strip() for c in rows["Ann"].split("│")[6:7]] == ["0"]  # declined
    assert "3 decision(s)" in r.output

    r = invoke("--assignment-url", base, "--token", TOKEN, "--json", *window)
    assert r.exit_code == 0, r.output
    assert '"decisions": 3' in r.output


def test_a_bad_window_or_token_exits_1_and_no_service_exits_2(served: Served) -> None:
    base = served.base
    r = invoke(
        "--assignment-url", base, "--token", TOKEN, "--from", "2027-01-02", "--to", "2027-01-01"
    )
    assert r.exit_code == 1
    assert "to: must not be before from" in r.output
    r = invoke(
        "--assignment-url", base, "--token", "wrong", "--from", "2027-01-01", "--to", "2027-01-02"
    )
    assert (r.exit_code, "HTTP 401" in r.output) == (1, True)
    closed = f"http://127.0.0.1:{closed_port()}"
    r = invoke(
        "--assignment-url", closed, "--token", TOKEN, "--from", "2027-01-01", "--to", "2027-01-02"
    )
    assert r.exit_code == 2
