"""Whose a lead is, as its facts fold it: the latest assignment's rep, across cycles, whatever
the clocks of the sales-assignment replicas that stamped them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from feedback.fold import FOLDS, Facts, assigned
from leadflow.events import AssignmentReason, Event, LeadAssigned, LeadOutcome, RepRef

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEAD = uuid.UUID(int=0xF01D)
RITA = RepRef(rep_id=uuid.UUID(int=1), name="Rita Rep", email="rita@seller.example")
SAM = RepRef(rep_id=uuid.UUID(int=2), name="Sam Rep", email="sam@seller.example")
TOM = RepRef(rep_id=uuid.UUID(int=3), name="Tom Rep", email="tom@seller.example")
DAYS = 24 * 60


def given(rep: RepRef, minutes: float, attempt: int) -> LeadAssigned:
    return LeadAssigned(
        lead_id=LEAD,
        rep=rep,
        reason=AssignmentReason(rule="round_robin"),
        assigned_at=T0 + timedelta(minutes=minutes),
        attempt=attempt,
    )


def rejected(minutes: float, *, recycle: bool = True) -> LeadOutcome:
    """Sales rejected the lead (feedback folds its own `leads.outcomes` event back)."""
    return LeadOutcome(lead_id=LEAD, stage="rejected", reason="not_ready", recycle=recycle,
                       occurred_at=T0 + timedelta(minutes=minutes))  # fmt: skip


def folded(events: list[Event]) -> Facts:
    facts = Facts(LEAD)
    for event in events:
        FOLDS[type(event)](facts, event)
    return facts


@pytest.mark.parametrize(
    ("events", "holder"),
    [
        # Re-routed after an SLA miss, then after a decline: the latest rep holds it.
        ([given(RITA, 0, 1), given(SAM, 30, 2), given(TOM, 45, 3)], TOM),
        # A recycled lead's next cycle starts again at attempt 1, later: its rep holds it.
        ([given(RITA, 0, 1), given(SAM, 30, 2), rejected(40), given(TOM, 3 * DAYS, 1)], TOM),
        # A late copy of an older assignment (a dead letter replayed) changes nothing.
        ([given(RITA, 0, 1), given(SAM, 30, 2), given(RITA, 0, 1)], SAM),
        ([given(SAM, 30, 2), rejected(40), given(TOM, 3 * DAYS, 1), given(SAM, 30, 2)], TOM),
        # ... nor one of the last cycle's re-routes delivered late for the first time.
        ([given(RITA, 0, 1), rejected(40), given(TOM, 3 * DAYS, 1), given(SAM, 30, 2)], TOM),
        # A re-route stamped by a replica whose clock is behind still takes the lead ...
        ([given(RITA, 0, 1), given(SAM, -0.01, 2)], SAM),
        # ... and the assignment it replaced, delivered late, does not take it back.
        ([given(SAM, -0.01, 2), given(RITA, 0, 1)], SAM),
        # An assignment stamped an hour ahead blocks none of the re-routes after it.
        ([given(RITA, 60, 1), given(SAM, 10, 2), given(TOM, 20, 3)], TOM),
    ],
)
def test_the_lead_is_held_by_its_latest_assignments_rep(
    events: list[Event], holder: RepRef
) -> None:
    facts = folded(events)
    assert (facts.rep_id, facts.rep_name) == (holder.rep_id, holder.name)


def test_speed_to_lead_still_counts_from_the_first_assignment() -> None:
    facts = Facts(LEAD)
    for event in (given(RITA, 10, 1), given(SAM, 40, 2), given(TOM, 3 * 24 * 60, 1)):
        assigned(facts, event)
    assert facts.assigned_at == T0 + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("events", "closed"),
    [
        ([given(RITA, 0, 1)], False),
        # A rejection closes the assignment, recycled or not ...
        ([given(RITA, 0, 1), rejected(10)], True),
        ([given(RITA, 0, 1), rejected(10, recycle=False)], True),
        # ... a re-route made before sales-assignment saw it does not open it again ...
        ([given(RITA, 0, 1), rejected(10), given(SAM, 30, 2)], True),
        # ... the recycled lead's next cycle does.
        ([given(RITA, 0, 1), rejected(10), given(TOM, 3 * DAYS, 1)], False),
        ([given(RITA, 0, 1), given(SAM, 30, 2), rejected(40), given(TOM, 3 * DAYS, 1)], False),
        # A lead nobody had when it was rejected (it waited in the queue) opens when assigned.
        ([rejected(10), given(TOM, 3 * DAYS, 1)], False),
    ],
)
def test_a_rejection_closes_the_assignment_until_the_next_cycle(
    events: list[Event], closed: bool
) -> None:
    assert folded(events).assignment_closed is closed
