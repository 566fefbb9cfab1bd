"""`leadflow routing simulate` against a real sales-assignment served by uvicorn.

Two reps, Ann (weight 1) and Bob (weight 3), get eight leads through the real routing path
(the handler the consumer runs, which records each decision) on a SQLite file; then the app
is served on loopback (no lifespan: nothing talks to Kafka; the simulation runs as a task on
the server's loop) and the CLI runs simulations as an operator's CI job would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from assignment_kit import api_rep, handle, qualified, served_by
from fastapi import FastAPI
from typer.testing import CliRunner

from leadflow.cli import app as cli
from support.apps import ADMIN, Served

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
NOW = datetime.now(UTC)
WINDOW = ("--from", (NOW - timedelta(hours=1)).isoformat(), "--to", str(NOW.date() + timedelta(2)))


async def _seed(app: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    """Ann and Bob, and eight leads routed by the handler (recording each decision)."""
    ids = {"Ann": await api_rep(http, "Ann", weight=1), "Bob": await api_rep(http, "Bob", weight=3)}
    for _ in range(8):
        await handle(app.state.assigner, qualified(country="DE"))
    return ids


served = served_by(_seed)  # the module's served fixture


def invoke(base: str, token: str, *args: str) -> Any:
    argv = ["routing", "simulate", *WINDOW, "--assignment-url", base, "--token", token]
    return runner.invoke(cli, [*argv, "--poll", "0.1", "--wait", "60", *args], env=WIDE)


def per_rep(output: str) -> dict[str, list[str]]:
    """The per-rep table: actual, simulated, Δ, expected by weight in the simulation."""
    return {
        cells[0]: cells[1:]
        for line in output.splitlines()
        if len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 5
    }


def test_deactivating_a_rep_prints_the_report_and_gates_ci(served: Served, tmp_path: Path) -> None:
    base, ids, analyst = served
    r = invoke(base, analyst)
    assert r.exit_code == 0, r.output
    assert "8 lead(s), 0 would change rep (0.0%)" in r.output
    assert "Replayed as they were made, 100.00% of the decisions come out the same" in r.output
    assert per_rep(r.output) == {"Ann": ["2", "2", "+0", "2.00"], "Bob": ["6", "6", "+0", "6.00"]}

    roster = tmp_path / "roster.json"
    roster.write_text(json.dumps({"reps": [{"action": "deactivate", "rep_id": ids["Bob"]}]}))
    r = invoke(base, analyst, "--reps", str(roster))
    assert r.exit_code == 0, r.output
    assert "8 lead(s), 6 would change rep (75.0%)" in r.output
    assert per_rep(r.output) == {"Ann": ["2", "8", "+6", "8.00"], "Bob": ["6", "0", "-6", "–"]}
    assert "Moved leads (first 6 of 6)" in r.output
    assert r.output.count("│ Bob        │ Ann") == 6  # moved from Bob to Ann, by name

    r = invoke(base, analyst, "--reps", str(roster), "--fail-if-changed-over", "5")
    assert r.exit_code == 1
    assert "6 lead(s) would change rep: more than 5" in r.output
    r = invoke(base, analyst, "--reps", str(roster), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["moved_total"] == 6


def test_a_refused_request_exits_2_naming_the_field(served: Served, tmp_path: Path) -> None:
    base, _, analyst = served
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps([{"name": "x", "countries": ["Narnia"]}]))
    r = invoke(base, analyst, "--rules", str(draft))
    assert r.exit_code == 2
    assert "rules[0].countries[0]" in r.output
    assert "HTTP 422" in r.output
    r = invoke(base, "wrong-token")
    assert (r.exit_code, "HTTP 401" in r.output) == (2, True)
