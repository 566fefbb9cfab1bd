"""A stranger's touch, as intake stages it, does not rewrite the lead scoring stores
(scoring on SQLite and PostgreSQL; intake on its own SQLite database)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.handlers import Scorer
from lead_scoring.settings import ScoringSettings
from leadflow.events import Attribution, Envelope, Lead, LeadCaptured, LeadScored
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
        async with runtime(scoring).transaction() as uow:
            await scorer.handlers[LeadCaptured](uow, Envelope(data=env.data, source="/intake"))
    row = await scorer.get(captured[0].data.lead_id)
    assert str(row.lead_id) == lead_id
    assert row.touches == 2
    assert (row.lead["first_name"], row.lead["phone"]) == ("Grace", "+442079460000")
    assert (row.lead["job_title"], row.lead["company_size"]) == (None, None)


async def test_a_touch_carrying_other_fields_only_fills_the_empty_ones(scoring: FastAPI) -> None:
    """An intake from before the fix (its events still on the topic) sent the touch's own
    fields; scoring keeps what it stored and takes only the empty fields and attribution."""
    lead = Lead(
        lead_id=uuid.uuid4(),
        email="cto@bigco.example.com",
        first_name="Grace",
        phone="+442079460000",
        captured_at=datetime.now(UTC),
    )
    hostile = lead.model_copy(
        update={
            "first_name": "Mallory",
            "phone": "+442079460999",
            "job_title": "CTO",
            "attribution": Attribution(source="web_form", utm_source="evil"),
            "captured_at": datetime.now(UTC),
        }
    )
    scorer: Scorer = scoring.state.scorer
    batch = [
        LeadCaptured(lead_id=lead.lead_id, lead=lead),
        LeadCaptured(lead_id=lead.lead_id, lead=hostile, duplicate=True, touch=2),
    ]
    async with runtime(scoring).transaction() as uow:  # the same lead twice in one batch
        await scorer.batch_handlers[LeadCaptured](
            uow, [Envelope(data=e, source="/t") for e in batch]
        )
    async with runtime(scoring).transaction() as uow:  # and in a later one
        await scorer.handlers[LeadCaptured](
            uow, Envelope(data=batch[1].model_copy(update={"touch": 3}), source="/t")
        )
    row = await scorer.get(lead.lead_id)
    assert row.touches == 3
    assert (row.lead["first_name"], row.lead["phone"]) == ("Grace", "+442079460000")
    assert row.lead["job_title"] == "CTO"
    assert row.lead["attribution"]["utm_source"] == "evil"
    scored = [e.data for e in await outbox(scoring) if isinstance(e.data, LeadScored)]
    assert {(e.lead.first_name, e.lead.phone) for e in scored} == {("Grace", "+442079460000")}
