"""feedback's use cases: fold lead events into journey and facts; costs, funnel, journey.

Outcomes and integrations are in `feedback.outcomes`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from feedback import dashboard, domain, fold_sql, insights, repo
from feedback.fold import FOLDS, Facts
from feedback.funnel import DEFAULT_MIN_VERDICTS, GroupBy, GroupMetrics, LeadFact, Money, funnel
from feedback.models import CampaignCost, JourneyEvent, LeadFacts
from leadflow.bus import BatchHandlers, Handlers
from leadflow.events import Envelope, LeadErased
from leadflow.service import Runtime
from leadflow.uow import UnitOfWork

# ---------------------------------------------------------------- the read model

_JOURNEY = cast(Table, JourneyEvent.__table__)
_FACTS = cast(Table, LeadFacts.__table__)


async def record_events(uow: UnitOfWork, envs: list[Envelope]) -> None:
    """Fold events into the journey and the facts as the transaction commits.

    The consumer hands over a poll's events type by type (a run per partition); they are
    given to the unit of work's before-commit step `fold_events`, which folds all of them
    together just before the commit's writes, so a transaction costs the same handful of
    statements whether it holds one event or hundreds, from one partition or twenty.
    """
    uow.before_commit(fold_events, envs)


async def record_event(uow: UnitOfWork, env: Envelope) -> None:
    """`record_events` of one event."""
    uow.before_commit(fold_events, [env])


async def fold_events(uow: UnitOfWork, envs: list[Envelope]) -> None:
    """Fold events, in order, into the journey and the facts (a before-commit step): lock
    their leads and read their facts and which events the journey holds (one round trip
    each), then `apply_fold`; an erasure among them strips the lead's rows after that."""
    lead_ids = {env.data.lead_id for env in envs}
    facts, seen = await uow.session.run_sync(_lock_and_read, lead_ids, {env.id for env in envs})
    erased = apply_fold(uow, envs, facts, seen)
    if erased:
        await uow.flush()  # the erasure strips the journey rows just folded too
        for lead_id in erased:
            await uow.session.run_sync(fold_sql.erase, lead_id)


def _lock_and_read(
    session: Session, lead_ids: set[uuid.UUID], ce_ids: set[str]
) -> tuple[dict[uuid.UUID, Facts], set[str]]:
    fold_sql.lock_leads(session, lead_ids)
    return fold_sql.read(session, lead_ids, ce_ids)


def apply_fold(
    uow: UnitOfWork, envs: list[Envelope], facts: dict[uuid.UUID, Facts], seen: set[str]
) -> list[uuid.UUID]:
    """Fold events, in order, given the leads' stored `facts` and the event ids the journey
    holds (`seen`; both updated): stage the journey rows and the facts rows that changed;
    returns the leads erased by these events.

    An event already in the journey (replayed under another consumer group) changes nothing;
    once a lead is erased its entries keep no snapshot, and erasure strips the older ones.
    """
    before = {lead_id: f.values() for lead_id, f in facts.items()}
    journey: list[dict[str, Any]] = []
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
        journey.append(
            {
                "lead_id": event.lead_id,
                "ce_id": env.id,
                "ce_type": env.type,
                "occurred_at": domain.occurred_at(event, env.time),
                "data": data,
            }
        )
        FOLDS[type(event)](lead, event)
        if isinstance(event, LeadErased):
            erased[event.lead_id] = None
    uow.stage(_JOURNEY, journey)
    changed = [f.row() for lead_id, f in facts.items() if before.get(lead_id) != f.values()]
    uow.stage(_FACTS, changed, replace=True)
    return list(erased)


# ---------------------------------------------------------------- HTTP use cases


async def set_campaign_cost(
    rt: Runtime, utm_campaign: str, amount: Decimal, currency: str
) -> CampaignCost:
    """Record what a campaign cost in total (replaces the previous figure)."""
    async with rt.transaction() as uow:
        s = uow.session
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
        routing_variant=row.routing_variant,
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
