"""`leadflow routing simulate`: polling and printing, against a small real app over HTTP.

The app (FastAPI, served by uvicorn on loopback) answers `POST /v1/routing/simulations` and
`GET /v1/routing/simulations/{id}` with the bodies agreed for sales-assignment (HELPERS.md,
"Agreed interfaces"): `running` for the first looks, then `done` (or `failed` for a window
starting 2027-02-01). It keeps what it was sent, so the test sees the CLI's requests. This
checks the paths a real service rarely takes on demand (still running after --wait, a turn
to wait on 429, failed); tests/sales_assignment/test_routing_simulate_cli.py runs the CLI
against the real route.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from leadflow.cli import app as cli
from support.apps import served as serve
from support.infra import closed_port

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
ANN, BOB = str(uuid.uuid4()), str(uuid.uuid4())
LOOKS_RUNNING = 2


def report(sid: str, request: dict[str, Any], status: str) -> dict[str, Any]:
    moved = [
        {"lead_id": str(uuid.uuid4()), "actual_rep_id": ANN, "simulated_rep_id": BOB,
         "simulated_rule": "dach"}
        for _ in range(25)
    ]  # fmt: skip
    return {
        "simulation_id": sid,
        "status": status,
        "error": "the window holds no recorded decision" if status == "failed" else None,
        "request": request,
        "created_at": "2027-01-11T09:00:00Z",
        "finished_at": None if status == "running" else "2027-01-11T09:00:03Z",
        "leads": 120,
        "changed": 25,
        "per_rep": [
            {"rep_id": ANN, "name": "Ann Keller", "actual": 80, "simulated": 55},
            {"rep_id": BOB, "name": "Ben Ott", "actual": 40, "simulated": 65},
        ],
        "newly_queued": 2,
        "cap_hits": 4,
        "rules_never_matched": ["retail"],
        "reproduced": 0.9917,
        "misses": [
            {
                "reason": "rep changed before the record began",
                "count": 1,
                "example_lead_ids": [moved[0]["lead_id"]],
            },
        ],
        "moved": moved,
        "moved_total": 25,
        "fairness": {},
    }


class Lab:
    """The simulations route pair, keeping each request it answered."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []
        self.tokens: list[str | None] = []
        self.looks: dict[str, int] = {}
        self.requests: dict[str, dict[str, Any]] = {}
        self.busy = 0
        self.app = FastAPI()
        self.app.post("/v1/routing/simulations")(self.start)
        self.app.get("/v1/routing/simulations/{sid}")(self.get)

    async def start(
        self, request: Request, authorization: str | None = Header(None)
    ) -> JSONResponse:
        body = await request.json()
        self.tokens.append(authorization)
        if body.get("from") == "bad":
            errors = [{"field": "from", "message": "Input should be a valid datetime"}]
            return JSONResponse({"status": 422, "errors": errors}, status_code=422)
        if body.get("from") == "2027-04-01" and self.busy < 2:  # two runs ahead of this one
            self.busy += 1
            busy = {"status": 429, "detail": "2 simulations are running"}
            return JSONResponse(busy, status_code=429, headers={"Retry-After": "0"})
        self.posted.append(body)
        sid = str(uuid.uuid4())
        self.looks[sid], self.requests[sid] = 0, body
        return JSONResponse(report(sid, body, "running"), status_code=202)

    async def get(self, sid: str, authorization: str | None = Header(None)) -> JSONResponse:
        self.tokens.append(authorization)
        self.looks[sid] += 1
        body = self.requests[sid]
        if self.looks[sid] < LOOKS_RUNNING or body["from"] == "2027-03-01":
            status = "running"
        else:
            status = "failed" if body["from"] == "2027-02-01" else "done"
        return JSONResponse(report(sid, body, status))


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[Lab, str]]:
    found = Lab()
    with serve(found.app) as base:
        yield found, base


def invoke(base: str, *args: str) -> Any:
    argv = ["routing", "simulate", "--assignment-url", base, "--token", "t0k", "--poll", "0.05"]
    return runner.invoke(cli, [*argv, *args], env=WIDE)


def test_it_posts_the_files_polls_until_done_and_prints_the_report(
    lab: tuple[Lab, str], tmp_path: Path
) -> None:
    found, base = lab
    rules, reps = tmp_path / "draft.json", tmp_path / "reps.json"
    rules.write_text(json.dumps({"version": 3, "rules": [{"name": "dach", "countries": ["DE"]}]}))
    reps.write_text(json.dumps([{"rep_id": ANN, "action": "deactivate"}]))
    r = invoke(base, "--from", "2027-01-04", "--to", "2027-01-11", "--rules", str(rules),
               "--reps", str(reps))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert found.posted[-1] == {
        "from": "2027-01-04",
        "to": "2027-01-11",
        "rules": [{"name": "dach", "countries": ["DE"]}],
        "reps": [{"rep_id": ANN, "action": "deactivate"}],
    }
    sid = next(s for s, body in found.requests.items() if body is found.posted[-1])
    assert found.looks[sid] == LOOKS_RUNNING
    assert set(found.tokens) == {"Bearer t0k"}
    out = r.output
    assert f"Simulation {sid}: 120 lead(s), 25 would change rep (20.8%), 2 newly queued" in out
    assert "Replayed as they were made, 99.17% of the decisions come out the same" in out
    assert "Rules never matched: retail" in out
    per_rep = {c[0]: c[1:] for line in out.splitlines()
               if len(c := [x.strip() for x in line.split("│")[1:-1]]) == 4}  # fmt: skip
    assert per_rep["Ann Keller"] == ["80", "55", "-25"]
    assert per_rep["Ben Ott"] == ["40", "65", "+25"]
    assert "rep changed before the record began" in out
    assert "Moved leads (first 20 of 25)" in out
    assert out.count("│ Ann Keller │ Ben Ott") == 20  # names, not ids

    r = invoke(base, "--from", "2027-01-04", "--to", "2027-01-11", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert (doc["status"], len(doc["moved"])) == ("done", 25)


def test_ci_gating_busy_failure_and_errors_have_their_exit_codes(
    lab: tuple[Lab, str], tmp_path: Path
) -> None:
    found, base = lab
    window = ("--from", "2027-01-04", "--to", "2027-01-11")
    r = invoke(base, *window, "--fail-if-changed-over", "24")
    assert r.exit_code == 1
    assert "25 lead(s) would change rep: more than 24" in r.output
    assert invoke(base, *window, "--fail-if-changed-over", "25").exit_code == 0

    r = invoke(base, "--from", "2027-04-01", "--to", "2027-04-08")
    assert (r.exit_code, found.busy) == (0, 2), r.output  # waited its turn, then ran

    r = invoke(base, "--from", "2027-02-01", "--to", "2027-02-08")
    assert r.exit_code == 1
    assert "failed: the window holds no recorded decision" in r.output

    r = invoke(base, "--from", "2027-03-01", "--to", "2027-03-08", "--wait", "0.3")
    assert r.exit_code == 2
    assert "still running after 0.3 s" in r.output

    r = invoke(base, "--from", "bad", "--to", "2027-01-11")
    assert r.exit_code == 2
    assert "from: Input should be a valid datetime" in r.output

    bad = tmp_path / "draft.json"
    bad.write_text("{\n  rules: []\n}")
    r = invoke(base, *window, "--rules", str(bad))
    assert r.exit_code == 2
    assert f"{bad}:2:3: not valid JSON" in r.output

    r = invoke(f"http://127.0.0.1:{closed_port()}", *window)
    assert r.exit_code == 2
    assert "ConnectError" in r.output
