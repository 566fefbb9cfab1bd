"""feedback's routes: validate, call a handler, map the result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from feedback import handlers
from feedback.funnel import GroupBy, GroupMetrics
from feedback.schemas import (
    CostIn,
    CostOut,
    FunnelGroup,
    FunnelOut,
    JourneyEntry,
    JourneyOut,
    OutcomeAccepted,
    OutcomeIn,
)
from leadflow.http import AdminAuth, Problem, from_state, invalid
from leadflow.service import Runtime

router = APIRouter(prefix="/v1")


RT = Annotated[Runtime, from_state("runtime", Runtime)]


@router.post(
    "/outcomes",
    status_code=202,
    response_model=OutcomeAccepted,
    tags=["outcomes"],
    summary="Report how far a lead got (contacted, sql, won, lost)",
    description=(
        "Stores the outcome together with its `leads.outcomes` event in one transaction "
        "before answering 202. A repeat with the same `external_id` (or, without one, the "
        "same lead and stage) returns the first answer and publishes nothing. Won after "
        "lost, or lost after won, is refused with 409 unless the body says `reopen: true`. "
        "A lead this service has not seen yet is accepted; its metrics follow its events."
    ),
    responses={409: {"description": "Contradicts an earlier close, or external_id reused"}},
)
async def report_outcome(body: OutcomeIn, rt: RT, _: AdminAuth) -> JSONResponse:
    try:
        recorded = await handlers.record_outcome(rt, body)
    except handlers.OutcomeConflict as exc:
        raise Problem(409, "Conflict", str(exc), lead_id=str(body.lead_id)) from exc
    answer = OutcomeAccepted(outcome_id=recorded.outcome_id, duplicate=recorded.duplicate)
    return JSONResponse(answer.model_dump(mode="json"), status_code=202)


@router.put(
    "/campaigns/{utm_campaign}/cost",
    response_model=CostOut,
    tags=["campaigns"],
    summary="Set what a campaign (utm_campaign) cost in total",
)
async def put_campaign_cost(
    utm_campaign: Annotated[str, Path(min_length=1, max_length=200)],
    body: CostIn,
    rt: RT,
    _: AdminAuth,
) -> CostOut:
    cost = await handlers.set_campaign_cost(rt, utm_campaign, body.amount, body.currency)
    return CostOut.model_validate(cost, from_attributes=True)


def _utc(value: datetime | None) -> datetime | None:
    """A bound without a zone is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _group(g: GroupMetrics) -> FunnelGroup:
    return FunnelGroup(
        key=g.key,
        label=g.label,
        leads=g.leads,
        mqls=g.mqls,
        sqls=g.sqls,
        won=g.won,
        lost=g.lost,
        mql_rate=g.mql_rate,
        win_rate=g.win_rate,
        revenue=_money(g.revenue),
        currency=g.currency,
        avg_deal_size=_money(g.avg_deal_size),
        median_sales_cycle_days=g.median_sales_cycle_days,
        median_speed_to_lead_seconds=g.median_speed_to_lead_seconds,
        cost=_money(g.cost),
        cost_currency=g.cost_currency,
        cost_per_lead=_money(g.cost_per_lead),
        roi=g.roi,
    )


@router.get(
    "/metrics/funnel",
    response_model=FunnelOut,
    tags=["metrics"],
    summary="The funnel per group, for leads captured in [from, to)",
)
async def get_funnel(
    rt: RT,
    _: AdminAuth,
    group_by: GroupBy = "source",
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: datetime | None = None,
) -> FunnelOut:
    start, end = _utc(from_), _utc(to)
    if start is not None and end is not None and end <= start:
        raise invalid([("to", "must be after from")])
    groups = await handlers.funnel_metrics(rt, group_by, start, end)
    return FunnelOut(group_by=group_by, from_=start, to=end, groups=[_group(g) for g in groups])


@router.get(
    "/leads/{lead_id}/journey",
    response_model=JourneyOut,
    tags=["leads"],
    summary="Every event of a lead, in the order it happened",
)
async def get_journey(lead_id: uuid.UUID, rt: RT, _: AdminAuth) -> JourneyOut:
    rows = await handlers.journey(rt, lead_id)
    if not rows:
        raise Problem(404, "Not Found", "No events for this lead.")
    return JourneyOut(
        lead_id=lead_id,
        events=[JourneyEntry.model_validate(r, from_attributes=True) for r in rows],
    )
