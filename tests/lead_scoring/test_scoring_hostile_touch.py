"""A stranger's touch, as intake stages it, does not rewrite the lead scoring stores
(scoring on SQLite and PostgreSQL; intake on its own SQLite database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import Envelope, LeadCaptured
from marketing_intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from marketing_intake.app import build_app as build_intake
from marketing_intake.settings import IntakeSettings
from support.apps import build, client, dispose, outbox, runtime
from support.intake import ORIGIN, api_key, new_form


@pytest.fixture
async def scoring(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url)
    yield a
    await dispose(a)


@pytest.fixture
async def intake(tmp_path: Path) -> AsyncIterator[FastAPI]:
    url = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    a = await build(IntakeSettings, build_intake, INTAKE_MIGRATIONS, url)
    yield a
    await dispose(a)


async def test_a_strangers_touch_keeps_the_scored_leads_name_and_phone(
    intake: FastAPI, scoring: FastAPI
) -> None:
    real = {
        "email": "cto@bigco.example.com",
        "first_name": "Grace",
        "phone": "+44 20 7946 0000",
        "company": "BigCo",
    }
    hostile = {
        "email": "cto@bigco.example.com",
        "first_name": "Mallory",
        "phone": "+44 20 7946 0999",
        "job_title": "CEO",
        "company_size": "5000",
        "industry": "software",
    }
    async with client(intake) as http:
        key = await api_key(http)
        r = await http.post("/v1/leads", json=real, headers=key)
        lead_id = r.json()["lead_id"]
        form = await new_form(http)
        r = await http.post(form["submit_url"], data=hostile, headers={"Origin": ORIGIN})
        assert r.status_code == 202
    captured = [e for e in await outbox(intake) if isinstance(e.data, LeadCaptured)]
    assert [e.data.touch for e in captured] == [1, 2]
    scorer: Scorer = scoring.state.scorer
    for env in captured:  # what scoring's consumer does with each, one transaction each
        async with runtime(scoring).transaction() as s:
            await scorer.handlers[LeadCaptured](s, Envelope(data=env.data, source="/intake"))
    row = await scorer.get(captured[0].data.lead_id)
    assert str(row.lead_id) == lead_id
    assert row.touches == 2
    assert (row.lead["first_name"], row.lead["phone"]) == ("Grace", "+442079460000")
    assert (row.lead["job_title"], row.lead["company_size"]) == (None, None)
