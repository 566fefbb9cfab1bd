"""feedback's use cases: fold lead events into journey and facts; costs, funnel, journey.

Outcomes and integrations are in `feedback.outcomes`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from feedback import dashboard, domain, insights, repo
from feedback.funnel import GroupBy, GroupMetrics, LeadFact, Money, funnel
from feedback.models import CampaignCost, JourneyEvent, LeadFacts
from leadflow.bus import BatchHandler, BatchHandlers, Handler, Handlers
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

_BATCH = "feedback.batch"


@dataclass
class _Batch:
    """A batch handler's state: the ce_ids in the journey, and the journey rows it adds."""

    recorded: set[str]
    journey: list[dict[str, Any]] = field(default_factory=list)


def _batched(handler: Handler) -> BatchHandler:
    """A batch version of `handler`: one lock, one read of facts and journey ids, one insert.

    The batch's facts rows land in the session, so `get_facts` answers without SQL; its
    journey rows are inserted together at the end; the changed facts rows are written by
    the session's flush, one statement per set of changed columns.
    """

    async def run(session: AsyncSession, envs: list[Envelope]) -> None:
        lead_ids = {env.data.lead_id for env in envs}
        await repo.lock_leads(session, lead_ids)
        await repo.load_facts(session, lead_ids)
        session.info[_BATCH] = _Batch(await repo.journey_ids(session, {env.id for env in envs}))
        try:
            for env in envs:
                await handler(session, env)
            await _write_journey(session)
        finally:
            session.info.pop(_BATCH, None)
            repo.forget_loaded(session)

    return run


async def _write_journey(session: AsyncSession) -> None:
    """Insert the journey rows a batch gathered so far."""
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is not None and batch.journey:
        rows, batch.journey = batch.journey, []
        await repo.add_journey(session, rows)


async def _record(session: AsyncSession, env: Envelope) -> LeadFacts | None:
    """Add the journey entry and return the lead's facts row; None if already recorded."""
    event = env.data
    batch: _Batch | None = session.info.get(_BATCH)
    if batch is None:
        await repo.lock_lead(session, event.lead_id)
        if await repo.journey_has(session, env.id):
            return None
    elif env.id in batch.recorded:
        return None
    else:
        batch.recorded.add(env.id)  # locked and read up front (see `_batched`)
    facts = await repo.get_facts(session, event.lead_id)
    if facts is None:
        facts = LeadFacts(lead_id=event.lead_id, touches=0, assignment_attempt=0)
        repo.add_facts(session, facts)
    data = domain.journey_data(event)
    row = {
        "lead_id": event.lead_id,
        "ce_id": env.id,
        "ce_type": env.type,
        "occurred_at": domain.occurred_at(event, env.time),
        # A replay after erasure must not bring the snapshot back.
        "data": domain.erased_data(data) if facts.erased_at else data,
    }
    if batch is None:
        await repo.add_journey(session, [row])
    else:
        batch.journey.append(row)
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
    await _write_journey(session)  # what this batch added is part of the journey too
    for row in await repo.journey(session, event.lead_id):
        row.data = domain.erased_data(row.data)
    await repo.forget_outcome_reasons(session, event.lead_id)


# ---------------------------------------------------------------- HTTP use cases


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


def to_fact(row: LeadFacts) -> LeadFact:
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
        company_size=row.company_size,
        mql_at=row.mql_at,
        assigned_at=row.assigned_at,
        contacted_at=row.contacted_at,
        sql_at=row.sql_at,
        won_at=row.won_at,
        lost_at=row.lost_at,
        amount=row.amount,
        currency=row.currency,
    )


async def facts_and_costs(
    rt: Runtime, start: datetime | None, end: datetime | None
) -> tuple[list[LeadFact], dict[str, Money]]:
    """The leads captured in [start, end), as the funnel sees them, and every campaign cost."""
    async with rt.sessions() as s:
        rows = await repo.facts_captured_between(s, start, end)
        costs = {c.utm_campaign: Money(c.amount, c.currency) for c in await repo.campaign_costs(s)}
    return [to_fact(r) for r in rows], costs


async def funnel_metrics(
    rt: Runtime, group_by: GroupBy, start: datetime | None, end: datetime | None
) -> list[GroupMetrics]:
    """The funnel of the leads captured in [start, end), per group."""
    facts, costs = await facts_and_costs(rt, start, end)
    return funnel(facts, group_by, costs)


async def segment_insights(
    rt: Runtime, start: datetime | None, end: datetime | None, min_sample: int
) -> list[insights.Segment]:
    """The segments of the leads captured in [start, end), ranked for targeting."""
    facts, _ = await facts_and_costs(rt, start, end)
    return insights.segments(facts, min_sample)


async def dashboard_view(
    rt: Runtime, start: datetime | None, end: datetime | None
) -> dashboard.Dashboard:
    """The dashboard's figures and charts for the leads captured in [start, end)."""
    facts, costs = await facts_and_costs(rt, start, end)
    return dashboard.build(facts, costs)


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

BATCH_HANDLERS: BatchHandlers = {kind: _batched(h) for kind, h in HANDLERS.items()}
