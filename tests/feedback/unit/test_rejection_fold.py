"""How a rejection folds into a lead's facts (issue 24)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from feedback.fold import Facts, outcome
from leadflow.events import LeadOutcome

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_rejection_is_not_a_lost_deal() -> None:
    lead = uuid.uuid4()
    facts = Facts(lead, mql_at=T0)
    outcome(facts, LeadOutcome(lead_id=lead, stage="rejected", occurred_at=T0, reason="spam"))
    assert facts.lost_at is None
    assert facts.won_at is None
    won = LeadOutcome(lead_id=lead, stage="won", occurred_at=T0 + timedelta(days=1))
    outcome(facts, won)
    assert facts.won_at == won.occurred_at
