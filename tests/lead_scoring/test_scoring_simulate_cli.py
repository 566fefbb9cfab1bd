"""`leadflow scoring simulate` against a real lead-scoring served over HTTP (uvicorn).

Five past leads and their verdicts come through the real handlers on a SQLite file
(`scoring_kit.history`), and the admin issues an analyst token (POST /v1/tokens); then the
app is served on loopback (no lifespan: nothing talks to Kafka) and the CLI asks it, as an
analyst would (one case as the admin).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from scoring_kit import history
from typer.testing import CliRunner

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from leadflow.cli import app as cli
from leadflow.events import Lead
from support.apps import ADMIN, Served, served_by
from support.infra import closed_port

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


async def _seed(app: FastAPI, _: httpx.AsyncClient) -> dict[str, Lead]:
    """The history: five past leads and their verdicts, through the handlers."""
    return await history(app)


# The module's served fixture (read only: a simulation changes nothing).
served = served_by(ScoringSettings, build_app, MIGRATIONS, _seed, min_verdicts=2)


def invoke(served: Served, *args: str, token: str | None = None) -> Any:
    """The CLI with the analyst's token (or `token`)."""
    today = datetime.now(UTC).date()
    window = ["--from", str(today), "--to", str(today + timedelta(days=1))]
    command = [
        "scoring",
        "simulate",
        "--scoring-url",
        served.base,
        "--token",
        token or served.analyst,
    ]
    return runner.invoke(cli, [*command, *window, *args], env=WIDE)


def test_the_cli_prints_now_and_the_draft_side_by_side(served: Served) -> None:
    r = invoke(served, "--threshold", "45")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "5 lead(s), 1 erased" in out
    # Table rows: "│ name │ now │ draft │".
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in out.splitlines()]
    rows = {c[0]: c[1:] for c in cells if len(c) == 3}
    assert rows["threshold"] == ["60", "45"]
    assert rows["MQLs"] == ["3", "4"]
    assert (rows["won"], rows["lost"], rows["rejected"]) == (["1", "2"], ["1", "1"], ["1", "1"])
    assert rows["win rate"] == ["33.3% (6.2%–79.2%)", "50.0% (15.0%–85.0%)"]
    assert rows["revenue"] == ["1000.00 EUR", "1500.50 EUR"]
    assert "Became MQL 1: " in out
    assert "not a draft" in " ".join(out.split())


def test_a_rules_file_and_json_output(served: Served, tmp_path: Path) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"threshold": 90, "rules": []}))
    r = invoke(served, "--rules", str(draft), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert (doc["mqls_now"], doc["mqls_draft"]) == (3, 0)
    assert doc["draft"] == {"rules_version": "draft", "threshold": 90}
    as_admin = invoke(served, "--rules", str(draft), "--json", token=TOKEN)
    assert as_admin.exit_code == 0, as_admin.output
    assert json.loads(as_admin.output) == doc


def test_refusals_bad_files_and_no_service_have_their_exit_codes(
    served: Served, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"threshold": 60, "rules": [{"name": "x"}]}))
    r = invoke(served, "--rules", str(bad))
    assert r.exit_code == 1
    assert "rules.rules[0].group" in r.output
    r = invoke(served, "--threshold", "101")
    assert (r.exit_code, "threshold" in r.output) == (1, True)
    not_json = tmp_path / "draft.txt"
    not_json.write_text("threshold: 50")
    r = invoke(served, "--rules", str(not_json))
    assert (r.exit_code, "not a JSON rule set" in r.output) == (2, True)
    r = invoke(served, "--rules", str(tmp_path / "missing.json"))
    assert r.exit_code == 2
    wrong = runner.invoke(
        cli,
        ["scoring", "simulate", "--scoring-url", served.base, "--token", "nope",
         "--from", "2026-01-01", "--to", "2026-01-02"],
        env=WIDE,
    )  # fmt: skip
    assert (wrong.exit_code, "HTTP 401" in wrong.output) == (1, True)
    r = invoke(served._replace(base=f"http://127.0.0.1:{closed_port()}"))
    assert r.exit_code == 2
