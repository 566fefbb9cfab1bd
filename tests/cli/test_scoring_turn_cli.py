"""`leadflow scoring simulate` waits its turn on 429, as `routing simulate` does.

A small real app (FastAPI, served by uvicorn on loopback) answers `POST
/v1/scoring/simulations` with 429 (`Retry-After`) while "others run", then with the answer.
lead-scoring's own 429 is tested in tests/lead_scoring/test_scoring_simulation_limits.py;
tests/lead_scoring/test_scoring_simulate_cli.py runs the CLI against the real route.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from leadflow.cli import app as cli
from support.apps import served as serve

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
BUSY = {"status": 429, "detail": "1 simulation is running (LEADFLOW_SIMULATIONS_MAX_RUNNING)"}


def way(version: object, threshold: int) -> dict[str, Any]:
    return {"rules_version": version, "threshold": threshold}


def outcome(won: int) -> dict[str, Any]:
    return {"won": won, "lost": 1, "rejected": 0, "win_rate": None, "wilson_lower": None,
            "wilson_upper": None, "revenue": [], "won_without_amount": 0}  # fmt: skip


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """A scoring simulation's answer, as lead-scoring gives it."""
    none = {"count": 0, "lead_ids": []}
    return {
        "from": body["from"], "to": body["to"], "leads": 7, "erased": 0,
        "now": way(3, 60), "draft": way("draft", body.get("threshold", 60)),
        "mqls_now": 3, "mqls_draft": 5, "became_mql": none, "stopped_being_mql": none,
        "outcomes": {"now": outcome(1), "draft": outcome(2)}, "min_verdicts": 30,
        "learned": {"version": None, "weight": 0.0},
    }  # fmt: skip


class Busy:
    """The route, answering 429 to the first `busy` POSTs of each window."""

    def __init__(self) -> None:
        self.posts: dict[str, int] = {}
        self.app = FastAPI()
        self.app.post("/v1/scoring/simulations")(self.simulate)

    async def simulate(self, request: Request) -> JSONResponse:
        body = await request.json()
        window = body["from"]
        self.posts[window] = self.posts.get(window, 0) + 1
        busy = {"2027-01-01": 3, "2027-02-01": 10**6}.get(window, 0)
        if self.posts[window] <= busy:
            return JSONResponse(BUSY, status_code=429, headers={"Retry-After": "0.1"})
        return JSONResponse(answer(body))


@pytest.fixture(scope="module")
def busy() -> Iterator[tuple[Busy, str]]:
    found = Busy()
    with serve(found.app) as base:
        yield found, base


def invoke(base: str, start: str, *args: str) -> Any:
    argv = ["scoring", "simulate", "--scoring-url", base, "--token", "t0k", "--from", start,
            "--to", f"{start[:8]}08", "--threshold", "50"]  # fmt: skip
    return runner.invoke(cli, [*argv, *args], env=WIDE)


def test_a_busy_service_is_waited_for_not_an_invalid_draft(busy: tuple[Busy, str]) -> None:
    found, base = busy
    r = invoke(base, "2027-01-01", "--json")
    assert (r.exit_code, found.posts["2027-01-01"]) == (0, 4), r.output  # 3 turns, then ran
    assert json.loads(r.output)["mqls_draft"] == 5

    r = invoke(base, "2027-01-01")  # free now: the table at once
    assert r.exit_code == 0, r.output
    assert "MQLs" in r.output


def test_no_turn_within_wait_is_no_answer_exit_2(busy: tuple[Busy, str]) -> None:
    found, base = busy
    r = invoke(base, "2027-02-01", "--wait", "0.5")
    assert r.exit_code == 2, r.output  # not 1: the draft was never judged
    assert "HTTP 429: 1 simulation is running" in r.output
    assert found.posts["2027-02-01"] > 1  # it did ask again within --wait

    r = invoke(base, "2027-02-01", "--wait", "0")
    assert r.exit_code == 2, r.output
