"""`leadflow agreement status` against a real feedback served over HTTP (uvicorn): the same
promises as GET /v1/agreement/status, as a table or JSON; refusals exit 1, no service 2."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from feedback_events import ADMIN
from test_agreement_db import TERMS, seed
from typer.testing import CliRunner

from feedback.app import MIGRATIONS, build_app
from feedback.settings import FeedbackSettings
from leadflow.cli import app as cli
from support.apps import client, dispose, served
from support.databases import migrated
from support.infra import closed_port

runner = CliRunner()
WIDE = {"COLUMNS": "250", "NO_COLOR": "1"}
TOKEN = ADMIN["Authorization"].removeprefix("Bearer ")


def settings(url: str) -> FeedbackSettings:
    return FeedbackSettings(
        admin_token=TOKEN, database_url=url, kafka_bootstrap="127.0.0.1:9", min_verdicts=2
    )


async def _seed(url: str) -> None:
    """test_agreement_db's March and its agreement, written through the app's own paths."""
    await migrated(MIGRATIONS, url)
    app = build_app(settings(url))
    async with client(app) as http:
        await seed(app.state.runtime, http)
        put = await http.put("/v1/agreement", json=TERMS, headers=ADMIN)
    await dispose(app)
    assert put.status_code == 200, put.text


@pytest.fixture
def feedback(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path}/feedback.db"
    asyncio.run(_seed(url))
    with served(build_app(settings(url))) as base:
        yield base


def invoke(*args: str) -> Any:
    return runner.invoke(cli, ["agreement", "status", *args], env=WIDE)


def test_the_cli_prints_each_promise_as_the_api_answers_it(feedback: str) -> None:
    r = invoke("--feedback-url", feedback, "--token", TOKEN, "--month", "2026-03")
    assert r.exit_code == 0, r.output
    rows = [
        [c.strip() for c in line.split("│")[1:-1]] for line in r.output.splitlines() if "│" in line
    ]
    # The figures of test_agreement_db's hand-worked March: the month is over (31 days).
    assert rows == [
        ["marketing", "mqls_per_month", "3", "4", "4", "31", "on track"],
        ["marketing", "min_acceptance_rate", "80.0 %", "75.0 % (30.1 %–95.4 %)", "75.0 %", "31",
         "off track"],
        ["marketing", "mqls_per_month · webinar", "5", "2", "2", "31", "off track"],
        ["sales", "contact_within_minutes", "60 min", "30 min", "30 min", "31", "on track"],
    ]  # fmt: skip
    assert "The agreement, 2026-03: 31.0 of 31 days" in r.output
    r = invoke("--feedback-url", feedback, "--token", TOKEN, "--month", "2026-03", "--json")
    assert r.exit_code == 0, r.output
    assert '"days_in_month": 31' in r.output


def test_a_bad_month_or_token_exits_1_and_no_service_exits_2(feedback: str) -> None:
    r = invoke("--feedback-url", feedback, "--token", TOKEN, "--month", "2026-13")
    assert r.exit_code == 1
    assert "month" in r.output
    r = invoke("--feedback-url", feedback, "--token", "wrong")
    assert (r.exit_code, "HTTP 401" in r.output) == (1, True)
    r = invoke("--feedback-url", f"http://127.0.0.1:{closed_port()}", "--token", TOKEN)
    assert r.exit_code == 2
