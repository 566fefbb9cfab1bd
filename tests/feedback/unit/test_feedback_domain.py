"""Pure rules of feedback: stage order, what the journey keeps and what erasure removes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from feedback.domain import erased_data, journey_data, lead_snapshot, occurred_at, stage_conflict
from feedback.fold import COLUMNS
from feedback.models import LeadFacts
from leadflow.events import (
    Attribution,
    Factor,
    Lead,
    LeadCaptured,
    LeadOutcome,
    LeadQualified,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LEAD = Lead(
    lead_id=uuid.uuid4(),
    email="ada@example.com",
    first_name="Ada",
    last_name="Lovelace",
    phone="+442071234567",
    company="Analytical Engines",
    job_title="CEO",
    company_size=250,
    industry="software",
    country="GB",
    attribution=Attribution(source="webinar", utm_campaign="q4", referrer="https://x/?e=ada"),
    custom={"note": "call Ada"},
    captured_at=T0,
)


@pytest.mark.parametrize(
    ("history", "stage", "reopen", "conflicts"),
    [
        pytest.param([], "won", False, False, id="a first close is fine"),
        pytest.param(["contacted", "sql"], "won", False, False, id="won after sql is fine"),
        pytest.param(["lost"], "won", False, True, id="won after lost conflicts"),
        pytest.param(["won"], "lost", False, True, id="lost after won conflicts"),
        pytest.param(["won"], "lost", True, False, id="lost after won with reopen is fine"),
        pytest.param(["won", "lost"], "won", True, False, id="reopening again is fine"),
        pytest.param(["lost", "won"], "won", False, False, id="the latest close decides"),
        pytest.param(["won"], "won", False, False, id="won again is not a contradiction"),
        pytest.param(["won"], "contacted", False, False, id="earlier stages never conflict"),
    ],
)
def test_won_and_lost_contradict_each_other_unless_reopened(
    history: list[str], stage: str, reopen: bool, conflicts: bool
) -> None:
    assert (stage_conflict(history, stage, reopen=reopen) is not None) is conflicts


def test_the_lead_snapshot_keeps_no_contact_name_company_or_free_text() -> None:
    snapshot = lead_snapshot(LEAD)
    text = str(snapshot)
    for personal in ("ada", "Ada", "Lovelace", "+44", "Analytical", "CEO", "call"):
        assert personal not in text
    assert snapshot["country"] == "GB"
    assert snapshot["utm_campaign"] == "q4"


def test_erasure_drops_the_lead_snapshot_factors_and_reasons_but_keeps_the_stage() -> None:
    scored = LeadQualified(
        lead_id=LEAD.lead_id, score=80, qualified=True, threshold=60, model_version="v1",
        factors=[Factor(name="title", points=20, reason="CEO")], scored_at=T0, lead=LEAD,
    )  # fmt: skip
    outcome = LeadOutcome(
        lead_id=LEAD.lead_id, stage="lost", occurred_at=T0, reason="Ada chose a rival",
        amount=Decimal(5), currency="EUR",
    )  # fmt: skip
    assert set(erased_data(journey_data(scored))) == {
        "score",
        "qualified",
        "threshold",
        "model_version",
    }
    assert erased_data(journey_data(outcome)) == {
        "stage": "lost",
        "amount": "5",
        "currency": "EUR",
        "external_id": None,
    }


def test_the_journey_time_is_when_it_happened_not_when_the_event_was_sent() -> None:
    later = T0 + timedelta(days=1)
    captured = LeadCaptured(lead_id=LEAD.lead_id, lead=LEAD)
    outcome = LeadOutcome(lead_id=LEAD.lead_id, stage="won", occurred_at=T0 - timedelta(days=2))
    assert occurred_at(captured, later) == T0
    assert occurred_at(outcome, later) == T0 - timedelta(days=2)


def test_the_folded_facts_are_exactly_the_lead_facts_columns() -> None:
    """The fold writes every column of `lead_facts` and nothing else, in the table's order:
    a column added to the table and not to `Facts` would otherwise never be written."""
    assert tuple(c.name for c in LeadFacts.__table__.columns) == COLUMNS
