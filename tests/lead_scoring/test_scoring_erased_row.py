"""What lead-scoring keeps of an erased lead (`kept`): no free text the person or their link
supplied, the company size only as a band between the thresholds rules use, and its times
only to the day; a lead whose facts are all values the rules name still scores as before
(through the real handlers, on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from scoring_kit import cto, deliver, lead, outcome
from sqlalchemy import select

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.models import LeadScore
from lead_scoring.settings import ScoringSettings
from leadflow.events import Attribution, LeadCaptured, LeadErased
from support.apps import ADMIN, build, client, dispose, runtime

PATH = "/v1/scoring/simulations"


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    a = await build(ScoringSettings, build_app, MIGRATIONS, database_url)
    yield a
    await dispose(a)


async def erase(app: FastAPI, lead_id: Any) -> None:
    await deliver(app, LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC)))


async def test_an_erased_row_keeps_no_free_text_no_exact_size_and_only_days(
    app: FastAPI,
) -> None:
    """A CEO of a 7-person firm, industry and campaign of her own naming: she qualifies on
    her second touch (65), is rejected and recycled, then erased."""
    jane = lead(
        email="jane@doe-consulting.example", first_name="Jane", last_name="Doe",
        phone="+4930123456", company="Doe Consulting", job_title="CEO", company_size=7,
        industry="Jane Doe Consulting", country="de", website="https://doe.example",
        attribution=Attribution(source="Jane's Newsletter", utm_source="janedoe-blog",
                                utm_medium="cpc", utm_campaign="jane-doe-spring-offer"),
    )  # fmt: skip
    await deliver(app, LeadCaptured(lead_id=jane.lead_id, lead=jane))
    await deliver(app, LeadCaptured(lead_id=jane.lead_id, lead=jane, touch=2, duplicate=True))
    await deliver(app, outcome(jane.lead_id, "rejected", reason="not_ready", recycle=True))
    await erase(app, jane.lead_id)
    async with runtime(app).sessions() as s:
        stmt = select(LeadScore.__table__).where(LeadScore.lead_id == jane.lead_id)
        row = (await s.execute(stmt)).one()._asdict()
    assert (row["score"], row["outcome"]) == (65, "rejected")
    text = str({k: v for k, v in row.items() if k != "lead_id"}).lower()
    for word in ("jane", "doe", "consult", "newsletter", "spring", "blog", "ceo", "4930"):
        assert word not in text, (word, row)
    assert row["facts"] == {
        "format": "leadflow.scoring.facts.v2",
        "size_band": [0, 9],  # not 7: the rules and the model tell 1-9 apart, no more
        "industry": None,  # named by no rule
        "country": "DE",
        "seniority": "c_level",
        "email_type": "corporate",
        "filled": 9,
        "attribution": {"source": None, "utm_source": None, "utm_medium": "cpc",
                        "utm_campaign": None},
    }  # fmt: skip
    times = ("scored_at", "qualified_at", "rejected_at", "recycled_at", "erased_at")
    for name in times:
        at = row[name]
        assert at is not None, name
        assert (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0), (name, at)
    assert row["scored_at"].date() == datetime.now(UTC).date()


async def test_an_erased_lead_of_values_the_rules_name_scores_as_its_twin(app: FastAPI) -> None:
    """Two identical CTOs (80 points: a 400-person software firm, from a webinar), one
    erased: every threshold and a draft on a size band count both or neither."""
    twins = [cto(), cto()]
    for x in twins:
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    await erase(app, twins[0].lead_id)
    sized = {"threshold": 30, "rules": [
        {"name": "mid", "group": "fit", "when": {"kind": "company_size", "min": 200,
         "max": 999}, "points": 30, "reason": "200-999"},
    ]}  # fmt: skip
    now = datetime.now(UTC)
    span = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    async with client(app) as http:
        answers = [
            (await http.post(PATH, json=span | draft, headers=ADMIN)).json()
            for draft in ({"threshold": 80}, {"threshold": 81}, {"rules": sized})
        ]
    assert [(a["leads"], a["erased"]) for a in answers] == [(2, 1)] * 3
    assert [a["mqls_draft"] for a in answers] == [2, 0, 2]
