"""The funnel arithmetic: per-group counts, rates, revenue, cycle times and ROI (pure).

Definitions (every lead is one whose `captured_at` falls in the asked period):
leads = the group's leads; mqls = leads that qualified; sqls = leads that reached sql, or
won (a won deal passed sql); won / lost = leads whose latest close is won / lost;
mql_rate = mqls / leads; win_rate = won / (won + lost), null without closes, with its 95 %
Wilson interval (win_rate_wilson_lower, _upper);
rejected = MQLs whose verdict is a rejection, verdicts = MQLs with a verdict, acceptance_rate
= (verdicts - rejected) / verdicts with its Wilson interval, not given below the minimum of
verdicts (`feedback.acceptance`, where a verdict is defined); rejection_reasons = rejected
MQLs per reason code;
revenue = sum of won amounts (null when they mix currencies); avg_deal_size = revenue / won;
median_sales_cycle_days = median(won_at - captured_at); median_speed_to_lead_seconds =
median(first assigned_at - captured_at); median_assigned_to_contacted_seconds =
median(first contacted_at - first assigned_at); cost = the campaign's cost for `utm_campaign`
groups, and for other groups only when every lead of the group comes from costed campaigns
whose leads all fall in this group; cost_per_lead = cost / leads; cac = cost / won (null
without a won deal); roi = (revenue - cost) / cost.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, get_args

from feedback.acceptance import Acceptance, acceptance, rejection_reasons
from leadflow.stats import wilson_interval

GroupBy = Literal[
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "form",
    "country",
    "industry",
    "rep",
    "routing_variant",
]
GROUP_BY: tuple[str, ...] = get_args(GroupBy)

CENTS = Decimal("0.01")
# The routing_variant group of leads whose latest assignment was in no experiment.
NO_VARIANT = "none"
# Below this many verdicts an acceptance rate is not given (LEADFLOW_MIN_VERDICTS).
DEFAULT_MIN_VERDICTS = 10


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class LeadFact:
    """One lead as the funnel sees it."""

    captured_at: datetime
    source: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    country: str | None = None
    industry: str | None = None
    rep_id: str | None = None
    rep_name: str | None = None
    company_size: int | None = None
    mql_at: datetime | None = None
    assigned_at: datetime | None = None
    contacted_at: datetime | None = None
    sql_at: datetime | None = None
    won_at: datetime | None = None
    lost_at: datetime | None = None
    amount: Decimal | None = None
    currency: str | None = None
    form_id: str | None = None
    rejected_at: datetime | None = None
    rejection_reason: str | None = None
    recycled: bool = False
    routing_variant: str | None = None  # "<experiment>/<arm>" of the latest assignment


@dataclass(frozen=True)
class GroupMetrics:
    """The funnel of one group."""

    key: str | None
    label: str | None
    leads: int
    mqls: int
    acceptance: Acceptance  # rejected, verdicts, acceptance rate and its interval
    rejection_reasons: dict[str, int]
    sqls: int
    won: int
    lost: int
    mql_rate: float | None
    win_rate: float | None
    win_interval: tuple[float, float] | None  # the win rate's 95 % Wilson interval
    revenue: Decimal | None
    currency: str | None
    avg_deal_size: Decimal | None
    median_sales_cycle_days: float | None
    median_speed_to_lead_seconds: float | None
    median_assigned_to_contacted_seconds: float | None
    cost: Decimal | None
    cost_currency: str | None
    cost_per_lead: Decimal | None
    cac: Decimal | None
    roi: float | None


def group_key(fact: LeadFact, group_by: GroupBy) -> str | None:
    """The value a lead is grouped under (the rep's id for `rep`)."""
    if group_by == "rep":
        return fact.rep_id
    if group_by == "form":
        return fact.form_id
    if group_by == "routing_variant":
        return fact.routing_variant or NO_VARIANT
    value: str | None = getattr(fact, group_by)
    return value


def funnel(
    facts: Sequence[LeadFact],
    group_by: GroupBy,
    costs: Mapping[str, Money],
    *,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> list[GroupMetrics]:
    """Metrics per group, the biggest groups first (the no-value group last among equals)."""
    groups: dict[str | None, list[LeadFact]] = {}
    for fact in facts:
        groups.setdefault(group_key(fact, group_by), []).append(fact)
    result = [
        _metrics(
            key,
            members,
            _group_cost(key, members, facts, group_by, costs),
            group_by,
            min_verdicts,
        )
        for key, members in groups.items()
    ]
    return sorted(result, key=lambda g: (-g.leads, g.key is None, g.key or ""))


def overall(
    facts: Sequence[LeadFact],
    costs: Mapping[str, Money],
    *,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> GroupMetrics | None:
    """All the leads as one group; its cost is that of every costed campaign among them."""
    if not facts:
        return None
    spent = [costs[c] for c in {f.utm_campaign for f in facts} if c is not None and c in costs]
    total = None
    if spent and len({m.currency for m in spent}) == 1:
        total = Money(sum((m.amount for m in spent), Decimal(0)), spent[0].currency)
    return _metrics("all", list(facts), total, "source", min_verdicts)


def _metrics(
    key: str | None,
    members: list[LeadFact],
    cost: Money | None,
    group_by: GroupBy,
    min_verdicts: int,
) -> GroupMetrics:
    leads = len(members)
    won = [f for f in members if f.won_at is not None]
    lost = sum(1 for f in members if f.lost_at is not None)
    revenue, currency = _revenue(won)
    closes = len(won) + lost
    roi = None
    # ROI only compares like with like: a positive cost and revenue in the same currency.
    comparable = revenue is not None and currency in (None, cost.currency if cost else None)
    if cost is not None and cost.amount > 0 and revenue is not None and comparable:
        roi = round(float((revenue - cost.amount) / cost.amount), 4)
    return GroupMetrics(
        key=key,
        label=members[0].rep_name if group_by == "rep" and key is not None else key,
        leads=leads,
        mqls=sum(1 for f in members if f.mql_at is not None),
        acceptance=acceptance(members, min_verdicts),
        rejection_reasons=rejection_reasons(members),
        sqls=sum(1 for f in members if f.sql_at is not None or f.won_at is not None),
        won=len(won),
        lost=lost,
        mql_rate=_ratio(sum(1 for f in members if f.mql_at is not None), leads),
        win_rate=_ratio(len(won), closes),
        win_interval=_interval(len(won), closes),
        revenue=revenue,
        currency=currency,
        avg_deal_size=(revenue / len(won)).quantize(CENTS) if won and revenue is not None else None,
        median_sales_cycle_days=_median(members, _captured, lambda f: f.won_at, 86_400),
        median_speed_to_lead_seconds=_median(members, _captured, lambda f: f.assigned_at, 1),
        median_assigned_to_contacted_seconds=_median(
            members, lambda f: f.assigned_at, lambda f: f.contacted_at, 1
        ),
        cost=cost.amount if cost else None,
        cost_currency=cost.currency if cost else None,
        cost_per_lead=(cost.amount / leads).quantize(CENTS) if cost else None,
        cac=(cost.amount / len(won)).quantize(CENTS) if cost and won else None,
        roi=roi,
    )


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _interval(part: int, whole: int) -> tuple[float, float] | None:
    interval = wilson_interval(part, whole)
    return (round(interval[0], 4), round(interval[1], 4)) if interval is not None else None


def _revenue(won: list[LeadFact]) -> tuple[Decimal | None, str | None]:
    """The sum of won amounts and their currency; (None, None) when currencies differ."""
    currencies = {f.currency for f in won if f.amount is not None and f.currency}
    if len(currencies) > 1:
        return None, None
    total = sum((f.amount for f in won if f.amount is not None), Decimal(0))
    return total, next(iter(currencies), None)


def _captured(fact: LeadFact) -> datetime:
    return fact.captured_at


Moment = Callable[[LeadFact], datetime | None]


def _median(members: list[LeadFact], start: Moment, end: Moment, unit: int) -> float | None:
    """The median span from `start` to `end` among the leads that have both, in `unit` s."""
    spans = [
        (stop - begin).total_seconds() / unit
        for f in members
        if (begin := start(f)) is not None and (stop := end(f)) is not None
    ]
    return round(statistics.median(spans), 4) if spans else None


def _group_cost(
    key: str | None,
    members: list[LeadFact],
    everyone: Sequence[LeadFact],
    group_by: GroupBy,
    costs: Mapping[str, Money],
) -> Money | None:
    if group_by == "utm_campaign":
        return costs.get(key) if key is not None else None
    campaigns = {f.utm_campaign for f in members}
    if None in campaigns or not campaigns <= costs.keys():
        return None  # some leads of the group have no known cost
    # A campaign's cost belongs to this group only if none of its leads is elsewhere.
    if any(f.utm_campaign in campaigns and group_key(f, group_by) != key for f in everyone):
        return None
    spent = [costs[c] for c in campaigns if c is not None]
    if len({m.currency for m in spent}) != 1:
        return None
    return Money(sum((m.amount for m in spent), Decimal(0)), spent[0].currency)
