"""feedback's use cases: fold lead events into journey and facts; outcomes, costs, funnel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from feedback import domain, repo
from feedback.funnel import GroupBy, GroupMetrics, LeadFact, Money, funnel
from feedback.models import CampaignCost, JourneyEvent, LeadFacts, Outcome
from feedback.schemas import OutcomeIn
from leadflow.bus import Handlers
from leadflow.events import (
    Envelope,
    Lead,
    LeadAssigned,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
    LeadQualified,
    LeadScored,
)
from leadflow.service import Runtime

# ---------------------------------------------------------------- the read model


async def _record(session: AsyncSession, env: Envelope) -> LeadFacts | None:
    """Add the journey entry and return the lead's facts row; None if already recorded."""
    event = env.data
    await repo.lock_lead(session, event.lead_id)
    if await repo.journey_has(session, env.id):
        return None
    facts = await repo.get_facts(session, event.lead_id)
    if facts is None:
        facts = LeadFacts(lead_id=event.lead_id, touches=0, assignment_attempt=0)
        session.add(facts)
    data = domain.journey_data(event)
    session.add(
        JourneyEvent(
            lead_id=event.lead_id,
            ce_id=env.id,
            ce_type=env.type,
            occurred_at=domain.occurred_at(event, env.time),
            # A replay after erasure must not bring the snapshot back.
            data=domain.erased_data(data) if facts.erased_at else data,
        )
    )
    return facts


def _cut(value: str | None, size: int = 200) -> str | None:
    """Fit a grouping value to its column: a long UTM tag must not dead-letter the event."""
    return value[:size] if value is not None else None


def _apply_lead(facts: LeadFacts, lead: Lead) -> None:
    """First-touch attribution: the earliest capture seen decides the lead's attributes."""
    if facts.captured_at is not None and lead.captured_at >= facts.captured_at:
        return
    facts.captured_at = lead.captured_at
    for name in domain.ATTRIBUTION_KEPT:
        setattr(facts, name, _cut(getattr(lead.attribution, name)))
    facts.country = _cut(lead.country, 2)
    facts.industry = _cut(lead.industry)
    facts.company_size = lead.company_size


async def on_captured(session: AsyncSession, env: Envelope) -> None:
    """A lead (or a new touch of it) was captured."""
    event = env.data
    assert isinstance(event, LeadCaptured)
    facts = await _record(session, env)
    if facts is not None:
        _apply_lead(facts, event.lead)
        facts.touches = max(facts.touches, event.touch)


async def on_scored(session: AsyncSession, env: Envelope) -> None:
    """The latest score counts; the first qualifying score makes the lead an MQL."""
    event = env.data
    assert isinstance(event, LeadScored)
    facts = await _record(session, env)
    if facts is None:
        return
    _apply_lead(facts, event.lead)
    if facts.scored_at is None or event.scored_at >= facts.scored_at:
        facts.score = event.score
        facts.scored_at = event.scored_at
    if event.qualified:
        facts.mql_at = domain.earliest(facts.mql_at, event.scored_at)


async def on_assigned(session: AsyncSession, env: Envelope) -> None:
    """Speed to lead counts from the first assignment; the rep is the latest one."""
    event = env.data
    assert isinstance(event, LeadAssigned)
    facts = await _record(session, env)
    if facts is None:
        return
    facts.assigned_at = domain.earliest(facts.assigned_at, event.assigned_at)
    if event.attempt >= facts.assignment_attempt:
        facts.assignment_attempt = event.attempt
        facts.rep_id = event.rep.rep_id
        facts.rep_name = _cut(event.rep.name)


async def on_outcome(session: AsyncSession, env: Envelope) -> None:
    """Stages reached keep their first time; the latest close (won or lost) is the lead's."""
    event = env.data
    assert isinstance(event, LeadOutcome)
    facts = await _record(session, env)
    if facts is None:
        return
    if event.stage == "contacted":
        facts.contacted_at = domain.earliest(facts.contacted_at, event.occurred_at)
    elif event.stage == "sql":
        facts.sql_at = domain.earliest(facts.sql_at, event.occurred_at)
    elif event.stage == "won":
        facts.won_at, facts.lost_at = event.occurred_at, None
        facts.amount, facts.currency = event.amount, event.currency
    else:
        facts.won_at, facts.lost_at = None, event.occurred_at
        facts.amount, facts.currency = None, None


async def on_erased(session: AsyncSession, env: Envelope) -> None:
    """Drop the lead snapshots and free text; the non-personal facts stay for the metrics."""
    event = env.data
    assert isinstance(event, LeadErased)
    facts = await _record(session, env)
    if facts is None:
        return
    facts.erased_at = facts.erased_at or event.erased_at
    for row in await repo.journey(session, event.lead_id):
        row.data = domain.erased_data(row.data)
    await repo.forget_outcome_reasons(session, event.lead_id)


# ---------------------------------------------------------------- HTTP use cases


@dataclass(frozen=True)
class Recorded:
    outcome_id: uuid.UUID
    duplicate: bool


class OutcomeConflict(Exception):
    """The outcome contradicts what was reported before (answered with 409)."""


async def record_outcome(rt: Runtime, body: OutcomeIn) -> Recorded:
    """Store the outcome and stage `leads.outcomes` in one transaction; repeats are no-ops."""
    try:
        return await _record_outcome(rt, body)
    except IntegrityError:
        # A concurrent request with the same external_id committed first: now a repeat.
        return await _record_outcome(rt, body)


async def _record_outcome(rt: Runtime, body: OutcomeIn) -> Recorded:
    now = datetime.now(UTC)
    async with rt.transaction() as s:
        await repo.lock_lead(s, body.lead_id)
        if body.external_id:
            first = await repo.outcome_by_external_id(s, body.external_id)
        else:
            first = await repo.first_outcome_at_stage(s, body.lead_id, body.stage)
        if first is not None:
            if (first.lead_id, first.stage) != (body.lead_id, body.stage):
                raise OutcomeConflict("This external_id was already used for another outcome.")
            return Recorded(first.outcome_id, duplicate=True)
        history = await repo.stage_history(s, body.lead_id)
        why = domain.stage_conflict(history, body.stage, reopen=body.reopen)
        if why:
            raise OutcomeConflict(why)
        event = LeadOutcome(
            lead_id=body.lead_id,
            stage=body.stage,
            occurred_at=body.occurred_at or now,
            amount=body.amount,
            currency=body.currency,
            reason=body.reason,
            external_id=body.external_id,
        )
        envelope = await rt.emit(s, event)
        outcome = Outcome(
            outcome_id=uuid.uuid4(),
            lead_id=body.lead_id,
            stage=body.stage,
            occurred_at=event.occurred_at,
            amount=body.amount,
            currency=body.currency,
            reason=body.reason,
            external_id=body.external_id,
            reopen=body.reopen,
            ce_id=envelope.id,
            created_at=now,
        )
        s.add(outcome)
    return Recorded(outcome.outcome_id, duplicate=False)


async def set_campaign_cost(
    rt: Runtime, utm_campaign: str, amount: Decimal, currency: str
) -> CampaignCost:
    """Record what a campaign cost in total (replaces the previous figure)."""
    async with rt.transaction() as s:
        cost = await repo.get_campaign_cost(s, utm_campaign)
        if cost is None:
            cost = CampaignCost(utm_campaign=utm_campaign)
            s.add(cost)
        cost.amount, cost.currency, cost.updated_at = amount, currency, datetime.now(UTC)
    return cost


def _fact(row: LeadFacts) -> LeadFact:
    assert row.captured_at is not None
    return LeadFact(
        captured_at=row.captured_at,
        source=row.source,
        utm_source=row.utm_source,
        utm_medium=row.utm_medium,
        utm_campaign=row.utm_campaign,
        country=row.country,
        industry=row.industry,
        rep_id=str(row.rep_id) if row.rep_id else None,
        rep_name=row.rep_name,
        mql_at=row.mql_at,
        assigned_at=row.assigned_at,
        sql_at=row.sql_at,
        won_at=row.won_at,
        lost_at=row.lost_at,
        amount=row.amount,
        currency=row.currency,
    )


async def funnel_metrics(
    rt: Runtime, group_by: GroupBy, start: datetime | None, end: datetime | None
) -> list[GroupMetrics]:
    """The funnel of the leads captured in [start, end), per group."""
    async with rt.sessions() as s:
        rows = await repo.facts_captured_between(s, start, end)
        costs = {c.utm_campaign: Money(c.amount, c.currency) for c in await repo.campaign_costs(s)}
    return funnel([_fact(r) for r in rows], group_by, costs)


async def journey(rt: Runtime, lead_id: uuid.UUID) -> list[JourneyEvent]:
    async with rt.sessions() as s:
        return await repo.journey(s, lead_id)


HANDLERS: Handlers = {
    LeadCaptured: on_captured,
    LeadScored: on_scored,
    LeadQualified: on_scored,
    LeadAssigned: on_assigned,
    LeadOutcome: on_outcome,
    LeadErased: on_erased,
}
