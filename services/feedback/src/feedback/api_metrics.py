"""Routes for the numbers: the funnel (JSON and CSV) and targeting insights."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from feedback import handlers
from feedback.auth import ReaderOrSession
from feedback.export import funnel_csv
from feedback.funnel import GroupBy, GroupMetrics
from feedback.insights import Segment
from feedback.schemas import FunnelGroup, FunnelOut, SegmentOut, SegmentsOut
from feedback.settings import FeedbackSettings
from leadflow.access import Reader, roles_text
from leadflow.bounds import RANGE, BoundedDateTime
from leadflow.http import from_state, invalid
from leadflow.service import Runtime

router = APIRouter(prefix="/v1")

RT = Annotated[Runtime, from_state("runtime", Runtime)]
Config = Annotated[FeedbackSettings, from_state("settings", FeedbackSettings)]
From = Annotated[
    BoundedDateTime | None,
    Query(
        alias="from", description=f"Leads captured at or after this time (no zone: UTC; {RANGE})"
    ),
]
To = Annotated[BoundedDateTime | None, Query(description="Leads captured before this time")]
PERIOD_NOTE = "Leads count in the period their capture falls in: [from, to)."
ACCEPTANCE_NOTE = (
    "An MQL has a verdict once sales rejected it or it reached contacted, sql, won or lost; "
    "it counts as rejected when its latest rejection is at or after every later stage it "
    "reached. acceptance_rate = (verdicts - rejected) / verdicts with its 95 % Wilson "
    "interval; with fewer verdicts than LEADFLOW_MIN_VERDICTS it is null and "
    "acceptance_status says insufficient_data."
)

VARIANT_NOTE = (
    'group_by=routing_variant groups by "<experiment>/<arm>" (arm control or variant) of the '
    "routing experiment that made the lead's latest assignment (leads.assigned "
    'reason.variant); leads assigned outside any experiment, or never, are "none". The win '
    "rate's 95 % Wilson interval is win_rate_wilson_lower/upper."
)


def _utc(value: datetime | None) -> datetime | None:
    """A bound without a zone is read as UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def period(from_: datetime | None, to: datetime | None) -> tuple[datetime | None, datetime | None]:
    start, end = _utc(from_), _utc(to)
    if start is not None and end is not None and end <= start:
        raise invalid([("to", "must be after from")])
    return start, end


@dataclass(frozen=True)
class FunnelAsk:
    """The funnel asked for: the grouping, the period, the minimum of verdicts."""

    group_by: GroupBy
    start: datetime | None
    end: datetime | None
    min_verdicts: int


def funnel_ask(
    settings: Config, group_by: GroupBy = "source", from_: From = None, to: To = None
) -> FunnelAsk:
    start, end = period(from_, to)
    return FunnelAsk(group_by, start, end, settings.min_verdicts)


Ask = Annotated[FunnelAsk, Depends(funnel_ask)]


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def funnel_group(g: GroupMetrics) -> FunnelGroup:
    a = g.acceptance
    return FunnelGroup(
        key=g.key,
        label=g.label,
        leads=g.leads,
        mqls=g.mqls,
        rejected=a.rejected,
        verdicts=a.verdicts,
        acceptance_rate=a.rate,
        acceptance_wilson_lower=a.wilson_lower,
        acceptance_wilson_upper=a.wilson_upper,
        acceptance_status=a.status,
        rejection_reasons=g.rejection_reasons,
        sqls=g.sqls,
        won=g.won,
        lost=g.lost,
        mql_rate=g.mql_rate,
        win_rate=g.win_rate,
        win_rate_wilson_lower=g.win_interval[0] if g.win_interval else None,
        win_rate_wilson_upper=g.win_interval[1] if g.win_interval else None,
        revenue=_money(g.revenue),
        currency=g.currency,
        avg_deal_size=_money(g.avg_deal_size),
        median_sales_cycle_days=g.median_sales_cycle_days,
        median_speed_to_lead_seconds=g.median_speed_to_lead_seconds,
        median_assigned_to_contacted_seconds=g.median_assigned_to_contacted_seconds,
        cost=_money(g.cost),
        cost_currency=g.cost_currency,
        cost_per_lead=_money(g.cost_per_lead),
        cac=_money(g.cac),
        roi=g.roi,
    )


@router.get(
    "/metrics/funnel",
    response_model=FunnelOut,
    tags=["metrics"],
    summary="The funnel per group, for leads captured in [from, to)",
    description=f"{PERIOD_NOTE} {ACCEPTANCE_NOTE} group_by=form groups by the form_id. "
    f"{VARIANT_NOTE} "
    "The same view as CSV: GET /v1/metrics/funnel.csv. " + roles_text("admin", "analyst"),
)
async def get_funnel(rt: RT, _: Reader, ask: Ask) -> FunnelOut:
    groups = await handlers.funnel_metrics(rt, ask.group_by, ask.start, ask.end, ask.min_verdicts)
    return FunnelOut(
        group_by=ask.group_by, from_=ask.start, to=ask.end, groups=[funnel_group(g) for g in groups]
    )


@router.get(
    "/metrics/funnel.csv",
    tags=["metrics"],
    summary="The same funnel view as CSV: one row per group, the JSON field names as header",
    description=(
        f"{PERIOD_NOTE} Takes the same query as GET /v1/metrics/funnel and gives the same "
        "numbers; null is an empty cell. A token, or the dashboard's login cookie (the "
        "dashboard links here). " + roles_text("admin", "analyst")
    ),
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_funnel_csv(rt: RT, _: ReaderOrSession, ask: Ask) -> Response:
    groups = await handlers.funnel_metrics(rt, ask.group_by, ask.start, ask.end, ask.min_verdicts)
    return Response(
        funnel_csv([funnel_group(g) for g in groups]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="funnel-{ask.group_by}.csv"'},
    )


def _segment(s: Segment) -> SegmentOut:
    """The segment with its acceptance spelled out as the funnel's fields are."""
    a = s.acceptance
    shown = {f.name: getattr(s, f.name) for f in fields(s) if f.name != "acceptance"}
    return SegmentOut.model_validate(
        shown
        | {
            "acceptance_rate": a.rate,
            "acceptance_wilson_lower": a.wilson_lower,
            "acceptance_wilson_upper": a.wilson_upper,
            "acceptance_status": a.status,
        }
    )


@router.get(
    "/insights/segments",
    response_model=SegmentsOut,
    tags=["insights"],
    summary="Segments ranked by the 95 % Wilson lower bound of won / (won + lost + rejected)",
    description=(
        f"{PERIOD_NOTE} Segments: each value of source, utm_campaign, country, industry "
        "and company_size_band. The sample is a segment's settled leads: won + lost + "
        "rejected (MQLs rejected and never closed), so a rejection counts against a "
        "segment as a lost deal does and acceptance weighs as much as wins; the rank key "
        "is `yield_lower`, the lower bound of won / sample. One with fewer than "
        "`min_sample` is listed after the ranked ones as `insufficient_data`, with rank "
        f"null. Each also shows its win rate and acceptance rate. {ACCEPTANCE_NOTE} "
        + roles_text("admin", "analyst")
    ),
)
async def get_segments(
    rt: RT,
    settings: Config,
    _: Reader,
    from_: From = None,
    to: To = None,
    min_sample: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="Default: LEADFLOW_INSIGHTS_MIN_SAMPLE (20)"),
    ] = None,
) -> SegmentsOut:
    start, end = period(from_, to)
    minimum = min_sample or settings.insights_min_sample
    found = await handlers.segment_insights(rt, start, end, minimum, settings.min_verdicts)
    return SegmentsOut(
        from_=start,
        to=end,
        confidence=0.95,
        min_sample=minimum,
        segments=[_segment(s) for s in found],
    )
