"""Pure: how each event changes a lead's facts (the row `lead_facts` keeps per lead)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from feedback import domain
from leadflow.events import (
    Event,
    Lead,
    LeadAssigned,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
    LeadScored,
)


@dataclass(slots=True)
class Facts:
    """One lead's `lead_facts` row as plain values (the columns, in the table's order)."""

    lead_id: uuid.UUID
    source: str | None = None
    form_id: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    country: str | None = None
    industry: str | None = None
    company_size: int | None = None
    captured_at: datetime | None = None
    touches: int = 0
    score: int | None = None
    scored_at: datetime | None = None
    mql_at: datetime | None = None
    assigned_at: datetime | None = None
    assignment_attempt: int = 0
    rep_id: uuid.UUID | None = None
    rep_name: str | None = None
    contacted_at: datetime | None = None
    sql_at: datetime | None = None
    won_at: datetime | None = None
    lost_at: datetime | None = None
    amount: Decimal | None = None
    currency: str | None = None
    erased_at: datetime | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    recycled: bool = False
    routing_variant: str | None = None
    rep_assigned_at: datetime | None = None
    assignment_closed: bool = False

    def values(self) -> tuple[Any, ...]:
        """The columns' values, in `COLUMNS` order (to tell whether a fold changed the row)."""
        return _values(self)

    def row(self) -> dict[str, Any]:
        """The row as a statement's parameters."""
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Facts))
VARIANT_SIZE = 120  # an experiment's name (at most 100) and its arm
_values = attrgetter(*COLUMNS)


def _cut(value: str | None, size: int = 200) -> str | None:
    """Fit a grouping value to its column: a long UTM tag must not dead-letter the event."""
    return value[:size] if value is not None else None


def _apply_lead(facts: Facts, lead: Lead) -> None:
    """First-touch attribution: the earliest capture seen decides the lead's attributes."""
    if facts.captured_at is not None and lead.captured_at >= facts.captured_at:
        return
    facts.captured_at = lead.captured_at
    attribution = lead.attribution
    facts.source = _cut(attribution.source)
    facts.form_id = _cut(attribution.form_id)
    facts.utm_source = _cut(attribution.utm_source)
    facts.utm_medium = _cut(attribution.utm_medium)
    facts.utm_campaign = _cut(attribution.utm_campaign)
    facts.country = _cut(lead.country, 2)
    facts.industry = _cut(lead.industry)
    facts.company_size = lead.company_size


def captured(facts: Facts, event: LeadCaptured) -> None:
    """A lead (or a new touch of it) was captured."""
    _apply_lead(facts, event.lead)
    facts.touches = max(facts.touches, event.touch)


def scored(facts: Facts, event: LeadScored) -> None:
    """The latest score counts; the first qualifying score makes the lead an MQL."""
    _apply_lead(facts, event.lead)
    if facts.scored_at is None or event.scored_at >= facts.scored_at:
        facts.score = event.score
        facts.scored_at = event.scored_at
    if event.qualified:
        facts.mql_at = domain.earliest(facts.mql_at, event.scored_at)


def assigned(facts: Facts, event: LeadAssigned) -> None:
    """Speed to lead counts from the first assignment; the rep is the latest one (the one
    who may post the lead's outcomes unless a rejection closed the assignment since), and so
    is the routing experiment's arm ("<experiment>/<arm>", None outside experiments)."""
    facts.assigned_at = domain.earliest(facts.assigned_at, event.assigned_at)
    if _takes_the_lead(facts, event):
        if facts.rep_assigned_at is None or event.attempt <= facts.assignment_attempt:
            # A new cycle (attempt 1 again: the lead was recycled and qualified again) opens
            # it; a re-route of the rejected cycle, made before sales-assignment saw the
            # rejection, does not.
            facts.assignment_closed = False
        facts.rep_assigned_at = event.assigned_at
        facts.assignment_attempt = event.attempt
        facts.rep_id = event.rep.rep_id
        facts.rep_name = _cut(event.rep.name)
        facts.routing_variant = _variant(event.reason.variant)


def _takes_the_lead(facts: Facts, event: LeadAssigned) -> bool:
    """Whether the assignment is later than the one the lead has (a copy of it is not).

    Until the lead is first rejected it has one cycle, whose attempts count up: the higher
    attempt is the later one, whichever replica's clock stamped it (a re-route stamped by a
    clock behind, or after one stamped ahead). A rejection may recycle the lead, and its next
    cycle starts again at attempt 1: from then on the later stamp decides (the higher attempt
    on a tie), which sales-assignment makes go forward per lead (`stamps.assignment_time`),
    so a late copy of the last cycle's assignments changes nothing.
    """
    if facts.rep_assigned_at is None:
        return True
    if facts.rejected_at is None and not facts.recycled:
        return event.attempt > facts.assignment_attempt
    latest = (facts.rep_assigned_at, facts.assignment_attempt)
    return (event.assigned_at, event.attempt) > latest


def _variant(tag: dict[str, str] | None) -> str | None:
    """An arm as the funnel groups it: "<experiment>/<arm>"."""
    if not tag or "experiment" not in tag or "arm" not in tag:
        return None
    return _cut(f"{tag['experiment']}/{tag['arm']}", VARIANT_SIZE)


def outcome(facts: Facts, event: LeadOutcome) -> None:
    """Stages reached keep their first time; the latest close (won or lost) is the lead's,
    and so is the latest rejection (a recycled lead may be rejected again). A rejection
    closes the lead's assignment, as sales-assignment does: its rep (or one it left) may
    post no more outcomes on it until it is assigned again (`assigned`)."""
    if event.stage == "rejected" and facts.rep_id is not None:
        facts.assignment_closed = True
    if event.stage == "contacted":
        facts.contacted_at = domain.earliest(facts.contacted_at, event.occurred_at)
    elif event.stage == "sql":
        facts.sql_at = domain.earliest(facts.sql_at, event.occurred_at)
    elif event.stage == "won":
        facts.won_at, facts.lost_at = event.occurred_at, None
        facts.amount, facts.currency = event.amount, event.currency
    elif event.stage == "lost":
        facts.won_at, facts.lost_at = None, event.occurred_at
        facts.amount, facts.currency = None, None
    elif event.stage == "rejected" and (
        facts.rejected_at is None or event.occurred_at >= facts.rejected_at
    ):
        facts.rejected_at = event.occurred_at
        # An outcome's reason goes with the erasure (contract: Erasure), even a late one's.
        facts.rejection_reason = None if facts.erased_at else event.reason
        facts.recycled = event.recycle


def erased(facts: Facts, event: LeadErased) -> None:
    """The first erasure is the one that counts; the non-personal facts stay for the metrics
    (a rejection's time and recycle flag: the funnel counts it), the rejection's reason not."""
    facts.erased_at = facts.erased_at or event.erased_at
    facts.rejection_reason = None


FOLDS: dict[type[Event], Callable[[Facts, Any], None]] = {
    LeadCaptured: captured,
    LeadScored: scored,
    LeadQualified: scored,
    LeadAssigned: assigned,
    LeadOutcome: outcome,
    LeadErased: erased,
}
