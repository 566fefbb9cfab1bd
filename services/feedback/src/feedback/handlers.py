"""feedback's use cases: fold lead events into journey and facts; costs, funnel, journey.

Outcomes and integrations are in `feedback.outcomes`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from feedback import dashboard, domain, fold_sql, insights, repo
from feedback.fold import FOLDS, Facts
from feedback.funnel import DEFAULT_MIN_VERDICTS, GroupBy, GroupMetrics, LeadFact, Money, funnel
from feedback.models import CampaignCost, JourneyEvent, LeadFacts
from leadflow.bus import BatchHandlers, Handlers
from leadflow.events import Envelope, LeadErased
from leadflow.service import Runtime

# ---------------------------------------------------------------- the read model

_STAGED = "feedback.staged"


async def record_events(session: AsyncSession, envs: list[Envelope]) -> None:
    """Fold events into the journey and the facts as the transaction commits.

    The consumer hands over a poll's events type by type (a run per partition); they are
    staged here and folded together just before the commit (`_fold_staged`), so a
    transaction costs the same handful of statements whether it holds one event or
    hundreds, from one partition or twenty.
    """
    session.info.setdefault(_STAGED, []).extend(envs)


async def record_event(session: AsyncSession, env: Envelope) -> None:
    """`record_events` of one event."""
    session.info.setdefault(_STAGED, []).append(env)


@sa_event.listens_for(Session, "before_commit")
def _fold_staged(session: Session) -> None:
    staged: list[Envelope] | None = session.info.pop(_STAGED, None)
    if staged:
        fold_events(session, staged)


@sa_event.listens_for(Session, "after_rollback")
def _drop_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)


def fold_events(session: Session, envs: list[Envelope]) -> None:
    """Fold events, in order, into the journey and the facts: lock their leads, read their
    facts and which events the journey holds, add the journey rows and write the facts rows
    that changed — a few statements, whatever the number of events.

    An event already in the journey (replayed under another consumer group) changes nothing;
    once a lead is erased its entries keep no snapshot, and erasure strips the older ones.
    """
    lead_ids = {env.data.lead_id for env in envs}
    fold_sql.lock_leads(session, lead_ids)
    facts, seen = fold_sql.read(session, lead_ids, {env.id for env in envs})
    before = {lead_id: f.values() for lead_id, f in facts.items()}
    journey: list[tuple[Any, ...]] = []  # fold_sql.JOURNEY_COLUMNS
    erased: dict[uuid.UUID, None] = {}
    for env in envs:
        if env.id in seen:
            continue
        seen.add(env.id)
        event = env.data
        lead = facts.get(event.lead_id)
        if lead is None:
            lead = facts[event.lead_id] = Facts(event.lead_id)
        data = domain.journey_data(event)
        if lead.erased_at:  # a replay after erasure must not bring the snapshot back
            data = domain.erased_data(data)
        journey.append((event.lead_id, env.id, env.type, domain.occurred_at(event, env.time), data))
        FOLDS[type(event)](lead, event)
        if isinstance(event, LeadErased):
            erased[event.lead_id] = None
    changed = [f for lead_id, f in facts.items() if before.get(lead_id) != f.values()]
    fold_sql.write(session, journey, changed)
    for lead_id in erased:
        fold_sql.erase(session, lead_id)


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
        form_id=row.form_id,
        rejected_at=row.rejected_at,
        rejection_reason=row.rejection_reason,
        recycled=row.recycled,
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
    rt: Runtime,
    group_by: GroupBy,
    start: datetime | None,
    end: datetime | None,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> list[GroupMetrics]:
    """The funnel of the leads captured in [start, end), per group."""
    facts, costs = await facts_and_costs(rt, start, end)
    return funnel(facts, group_by, costs, min_verdicts=min_verdicts)


async def segment_insights(
    rt: Runtime,
    start: datetime | None,
    end: datetime | None,
    min_sample: int,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> list[insights.Segment]:
    """The segments of the leads captured in [start, end), ranked for targeting."""
    facts, _ = await facts_and_costs(rt, start, end)
    return insights.segments(facts, min_sample, min_verdicts=min_verdicts)


async def dashboard_view(
    rt: Runtime,
    start: datetime | None,
    end: datetime | None,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> dashboard.Dashboard:
    """The dashboard's figures and charts for the leads captured in [start, end)."""
    facts, costs = await facts_and_costs(rt, start, end)
    return dashboard.build(facts, costs, min_verdicts=min_verdicts)


async def journey(rt: Runtime, lead_id: uuid.UUID) -> list[JourneyEvent]:
    async with rt.sessions() as s:
        return await repo.journey(s, lead_id)


HANDLERS: Handlers = dict.fromkeys(FOLDS, record_event)

BATCH_HANDLERS: BatchHandlers = dict.fromkeys(FOLDS, record_events)
