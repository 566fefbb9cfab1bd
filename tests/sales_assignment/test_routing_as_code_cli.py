"""`leadflow routing test` end to end: the CLI against a real sales-assignment served by uvicorn.

The team of deploy/examples/routing-cases.yaml is made through the API on a SQLite file,
then the app is served on loopback (no lifespan: nothing talks to Kafka) and the CLI runs
the example file as an operator's CI job would: every case passes (exit 0); a draft that
sends DACH enterprise leads elsewhere misses (exit 1, the case named with its line); a bad
file exits 2 naming the line and field, before anything is posted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from assignment_kit import api_account, api_rep, api_rules, served_by
from fastapi import FastAPI
from typer.testing import CliRunner

from leadflow.cli import app as cli
from support.apps import ADMIN, Served
from support.infra import closed_port

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")
FRESH = "a fresh rotation starts with the heavier rep"
EXAMPLE = Path(__file__).parents[2] / "deploy" / "examples" / "routing-cases.yaml"


async def _seed(_: FastAPI, http: httpx.AsyncClient) -> dict[str, str]:
    """The example's team and rules, made through the API; its rep ids."""
    ids = {
        "Ann": await api_rep(http, "Ann Keller", email="ann@seller.example", weight=2),
        "Ben": await api_rep(http, "Ben Ott", email="ben@seller.example"),
        "Cara": await api_rep(http, "Cara Diaz", email="cara@seller.example", territories=["US"]),
        "Dev": await api_rep(http, "Dev Patel", email="dev@seller.example"),
    }
    rules = [
        {"name": "dach-enterprise", "countries": ["DE", "AT", "CH"],
         "min_employees": 1000, "pool": [ids["Ann"], ids["Ben"]]},
        {"name": "us", "countries": ["US"], "pool": "territory"},
        {"name": "retail", "industries": ["Retail"], "pool": [ids["Dev"]]},
    ]  # fmt: skip
    await api_rules(http, rules)
    await api_account(http, "acme.com", ids["Cara"])
    return ids


served = served_by(_seed)  # the module's served fixture


def invoke(base: str, token: str, *args: str) -> Any:
    argv = ["routing", "test", *args, "--assignment-url", base, "--token", token]
    return runner.invoke(cli, argv, env=WIDE)


def rows(output: str) -> dict[str, list[str]]:
    """The table's rows by case name: expected, got, result."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 4 and cells[0] not in ("case", ""):
            found[cells[0]] = cells[1:]
    return found


def test_the_example_file_passes_with_an_analyst_token(
    served: Served,
) -> None:
    base, _, analyst = served
    r = invoke(base, analyst, str(EXAMPLE))
    assert r.exit_code == 0, r.output
    table = rows(r.output)
    assert len(table) == 7
    assert all(result == "PASS" for _, _, result in table.values())
    assert table["US leads go by territory"][:2] == [
        "rule us; rep Cara Diaz",
        "rule us → Cara Diaz",
    ]
    assert "against active rules v1" in r.output
    assert "7 passed, 0 failed" in r.output


def test_a_draft_that_moves_a_case_exits_1_naming_it(served: Served, tmp_path: Path) -> None:
    base, ids, _ = served
    draft = tmp_path / "draft.json"
    rules = [{"name": "dach-enterprise", "countries": ["DACH"], "pool": [ids["Dev"]]}]
    draft.write_text(json.dumps({"version": 1, "rules": rules}))  # GET's shape is read too
    r = invoke(base, TOKEN, str(EXAMPLE), "--rules", str(draft))
    assert r.exit_code == 2  # the draft is refused as PUT would refuse it: no region DACH
    assert f"{draft}: rules[0].countries[0]: rule 'dach-enterprise': unknown country" in r.output

    rules[0] |= {"countries": ["DE", "AT", "CH"], "min_employees": 1000}
    draft.write_text(json.dumps(rules))
    r = invoke(base, TOKEN, str(EXAMPLE), "--rules", str(draft))
    assert r.exit_code == 1, r.output
    table = rows(r.output)
    assert table["DACH enterprise goes to the enterprise pair"][2] == "FAIL"
    assert table["US leads go by territory"][2] == "FAIL"  # the draft has no `us` rule
    assert table["acme.com belongs to its account owner, wherever it writes from"][2] == "PASS"
    line = EXAMPLE.read_text().splitlines().index("  - name: " + FRESH) + 1
    assert (
        f"FAIL {EXAMPLE}:{line}: case '{FRESH}' "
        f"(cases[1]): rep: expected Ann Keller ({ids['Ann']}), got Dev Patel ({ids['Dev']})"
    ) in r.output
    assert "3 passed, 4 failed" in r.output
    # A FAIL line stays one line in a narrow terminal (CI logs are grepped for it): a
    # checkout under a longer path once wrapped it at 250 columns.
    argv = ["routing", "test", str(EXAMPLE), "--rules", str(draft)]
    argv += ["--assignment-url", base, "--token", TOKEN]
    narrow = runner.invoke(cli, argv, env={"COLUMNS": "60", "NO_COLOR": "1"})
    assert narrow.exit_code == 1, narrow.output
    assert f"FAIL {EXAMPLE}:{line}: case '{FRESH}' (cases[1]): rep: expected" in narrow.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases:\n  - name: x\n    lead: {country: DE\n", ":4:1: not valid YAML"),
        ("cases:\n  - name: x\n    lead: {country: NO}\n    expect: {rule: a}\n",
         ":3: case 'x' (cases[0]): lead.country: write the code in quotes"),
        ("cases:\n  - name: x\n    lead: {country: DE}\n    expect: {rule: a, rep: [Ann]}\n",
         ":4: case 'x' (cases[0]): expect.rep: must be text"),
        ("cases:\n  - name: x\n    lead: {counrty: DE}\n    expect: {rule: a}\n",
         ":3: case 'x' (cases[0]): lead.counrty: unknown key"),
        ("- name: x\n  lead: {}\n  expect: {rule: a}\n- name: x\n  lead: {}\n  expect: {}\n",
         ":6: case 'x' (cases[1]): expect: must be a mapping of rule, rep, pool, queued"),
        ("- name: x\n  lead: {}\n  expect: {rule: a}\n- name: x\n  lead: {}\n  expect: {rule: b}\n",
         ":4: case 'x' (cases[1]): name: same name as cases[0]"),
        ("rules: x\n", ": expected `cases:` with a list of cases"),
    ],
)  # fmt: skip
def test_a_bad_file_exits_2_naming_the_line_and_field(
    served: Served, tmp_path: Path, text: str, message: str
) -> None:
    base, _, _ = served
    path = tmp_path / "CASES.yaml"
    path.write_text(text)
    r = invoke(base, TOKEN, str(path))
    assert r.exit_code == 2, r.output
    assert f"{path}{message}" in r.output


def test_a_value_the_service_refuses_is_named_at_its_line_and_no_service_is_2(
    served: Served, tmp_path: Path
) -> None:
    base, _, _ = served
    path = tmp_path / "CASES.yaml"
    path.write_text(
        "at: 2027-01-04T10:00:00Z\ncases:\n  - name: ok\n    lead: {country: DE}\n"
        "    expect: {rule: default}\n  - name: too hot\n    lead:\n      country: DE\n"
        "      score: 101\n    expect: {rule: default}\n"
    )
    r = invoke(base, TOKEN, str(path))
    assert r.exit_code == 2, r.output
    assert (
        f"{path}:9: case 'too hot' (cases[1]): lead.score: "
        "Input should be less than or equal to 100"
    ) in r.output
    r = invoke(base, "wrong-token", str(EXAMPLE))
    assert (r.exit_code, "HTTP 401" in r.output) == (2, True)
    r = invoke(f"http://127.0.0.1:{closed_port()}", TOKEN, str(EXAMPLE))
    assert r.exit_code == 2
    assert "ConnectError" in r.output
    r = invoke(base, TOKEN, str(tmp_path / "missing.yaml"))
    assert (r.exit_code, "cannot read" in r.output) == (2, True)
