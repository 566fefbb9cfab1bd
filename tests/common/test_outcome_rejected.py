"""The outcome event's `rejected` stage and `recycle` field (issue 24): built strictly,
read by a consumer that predates them as it was before, older events read as recycle false."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from leadflow.events import Envelope, LeadOutcome, decode, default_recycle

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def rejected(reason: str, *, recycle: bool) -> LeadOutcome:
    return LeadOutcome(
        lead_id=uuid.uuid4(), stage="rejected", occurred_at=NOW, reason=reason, recycle=recycle
    )


@pytest.mark.parametrize(
    ("reason", "recycled"),
    [
        ("not_ready", True),
        ("no_contact", True),
        ("not_a_fit", False),
        ("spam", False),
        ("duplicate", False),
        ("other", False),
        (None, False),
    ],
)
def test_only_leads_not_ready_or_not_reached_are_recycled_by_default(
    reason: str | None, recycled: bool
) -> None:
    assert default_recycle(reason) is recycled


def test_a_rejection_round_trips_with_its_reason_and_recycle() -> None:
    env = Envelope(data=rejected("not_ready", recycle=True), source="/feedback")
    back = decode(env.value(), env.headers())
    assert back.data == env.data
    assert json.loads(env.value())["recycle"] is True


@pytest.mark.parametrize("reason", ["spam", "duplicate"])
def test_spam_and_duplicates_can_never_be_recycled(reason: str) -> None:
    with pytest.raises(ValidationError, match="recycle"):
        rejected(reason, recycle=True)


def test_only_a_rejected_lead_is_recycled() -> None:
    with pytest.raises(ValidationError, match="recycle"):
        LeadOutcome(lead_id=uuid.uuid4(), stage="lost", occurred_at=NOW, recycle=True)


def test_an_outcome_from_a_producer_without_recycle_reads_as_not_recycled() -> None:
    env = Envelope(
        data=LeadOutcome(lead_id=uuid.uuid4(), stage="won", occurred_at=NOW), source="/feedback"
    )
    doc = json.loads(env.value())
    del doc["recycle"]
    back = decode(json.dumps(doc).encode(), env.headers())
    assert isinstance(back.data, LeadOutcome)
    assert back.data.recycle is False
