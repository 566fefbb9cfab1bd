"""CSV rep import: the API (all or nothing) and the CLI against a real HTTP server; both DBs."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from support.apps import ADMIN
from support.infra import free_port

pytestmark = pytest.mark.postgres

CSV = {"Content-Type": "text/csv"}
GOOD = (
    "name,email,weight,max_open_leads,territories,segments,timezone,working_hours\n"
    "Ann Seller,ann@seller.example,2,25,EMEA;US,smb,Europe/Berlin,mon-fri 09:00-17:00\n"
    "Bob Seller,bob@seller.example,1,,,,,\n"
)
BAD = (
    "name,email,weight,territories\n"
    "Ann,ann@seller.example,1,EMEA\n"
    "Bob,bob-at-seller,1,EMEA\n"
    "Cid,cid@seller.example,-3,EU\n"
)


async def test_a_valid_file_adds_every_rep(http: httpx.AsyncClient) -> None:
    answer = await http.post("/v1/reps/import", content=GOOD, headers=ADMIN | CSV)
    assert answer.status_code == 201, answer.text
    doc = answer.json()
    assert doc["created"] == 2
    ann = doc["reps"][0]
    assert (ann["email"], ann["weight"], ann["territories"], ann["timezone"]) == (
        "ann@seller.example",
        2,
        ["EMEA", "US"],
        "Europe/Berlin",
    )
    assert ann["working_hours"]["fri"] == ["09:00-17:00"]
    listed = (await http.get("/v1/reps", headers=ADMIN)).json()
    assert sorted(r["email"] for r in listed) == ["ann@seller.example", "bob@seller.example"]

    # The same file again would double the team: refused, row by row, nothing added.
    again = await http.post("/v1/reps/import", content=GOOD, headers=ADMIN | CSV)
    assert again.status_code == 422
    assert [e["field"] for e in again.json()["errors"]] == ["row 2.email", "row 3.email"]
    assert "a rep with this email exists" in again.json()["errors"][0]["message"]
    assert len((await http.get("/v1/reps", headers=ADMIN)).json()) == 2


async def test_one_bad_row_rejects_the_file_and_every_error_is_named(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.post("/v1/reps/import", content=BAD, headers=ADMIN | CSV)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in answer.json()["errors"]}
    assert errors["row 3.email"] == "not an email address"
    assert set(errors) == {"row 3.email", "row 4.weight", "row 4.territories"}
    assert (await http.get("/v1/reps", headers=ADMIN)).json() == []


async def test_the_import_needs_admin_and_csv(http: httpx.AsyncClient) -> None:
    assert (await http.post("/v1/reps/import", content=GOOD, headers=CSV)).status_code == 401
    as_json = await http.post("/v1/reps/import", json={"csv": GOOD}, headers=ADMIN)
    assert as_json.status_code == 415
    latin1 = await http.post(
        "/v1/reps/import",
        content="name,email\nJosé,j@x.example\n".encode("latin-1"),
        headers=ADMIN | CSV,
    )
    assert (latin1.status_code, latin1.json()["errors"][0]["field"]) == (422, "body")


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    """The app served over real HTTP (no lifespan: nothing talks to Kafka)."""
    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(srv.serve())
    while not srv.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    await task


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sales_assignment.import_reps",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "LEADFLOW_ADMIN_TOKEN": "dev-test-admin"},
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_cli_prints_row_errors_and_exits_non_zero(server: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD)
    code, _out, err = await _cli(str(bad), "--url", server)
    assert code == 1
    assert "row 3: email: not an email address" in err.splitlines()
    assert any(line.startswith("row 4: weight: ") for line in err.splitlines())
    assert "nothing imported" in err


async def test_the_cli_imports_and_relays_the_servers_refusal(server: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(GOOD)
    assert (await _cli(str(good), "--url", server, "--dry-run"))[0] == 0
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server}/v1/reps", headers=ADMIN)).json() == []

    code, out, _ = await _cli(str(good), "--url", server, "--token", "dev-test-admin")
    assert code == 0
    assert "2 rep(s) imported" in out
    code, _, err = await _cli(str(good), "--url", server)  # token from the environment
    assert code == 1
    assert err.splitlines()[0].startswith("row 2: email: a rep with this email exists")
    code, _, err = await _cli(str(good), "--url", server, "--token", "dev-wrong")
    assert (code, err.startswith("HTTP 401")) == (2, True)  # an unknown token (contract)
