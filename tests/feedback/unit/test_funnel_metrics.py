"""The funnel arithmetic over hand-made facts: counts, rates, revenue, medians, ordering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from feedback.funnel import GroupMetrics, LeadFact, Money, funnel

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EUR = "EUR"


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


# Five leads: three from a webinar on campaign q4 (two won, one lost), two organic ones.
FACTS = [
    LeadFact(T0, source="webinar", utm_campaign="q4", rep_id="r1", rep_name="Rita",
             mql_at=at(hours=1), assigned_at=at(seconds=60), sql_at=at(days=2),
             won_at=at(days=10), amount=Decimal(1000), currency=EUR),
    LeadFact(T0, source="webinar", utm_campaign="q4", rep_id="r1", rep_name="Rita",
             mql_at=at(hours=1), assigned_at=at(seconds=120), won_at=at(days=20),
             amount=Decimal(3000), currency=EUR),
    LeadFact(T0, source="webinar", utm_campaign="q4", rep_id="r2", rep_name="Sam",
             mql_at=at(hours=1), assigned_at=at(seconds=300), lost_at=at(days=5)),
    LeadFact(T0, source="organic"),
    LeadFact(T0, source="organic", utm_campaign="brand", rep_id="r2", rep_name="Sam",
             mql_at=at(hours=2), assigned_at=at(seconds=30)),
]  # fmt: skip
COSTS = {"q4": Money(Decimal(1500), EUR), "brand": Money(Decimal(500), EUR)}


def by_key(groups: list[GroupMetrics]) -> dict[str | None, GroupMetrics]:
    return {g.key: g for g in groups}


@pytest.mark.parametrize(
    ("key", "field", "expected"),
    [
        ("webinar", "leads", 3),
        ("webinar", "mqls", 3),
        ("webinar", "sqls", 2),
        ("webinar", "won", 2),
        ("webinar", "lost", 1),
        ("webinar", "mql_rate", 1.0),
        ("webinar", "win_rate", 0.6667),
        ("webinar", "revenue", Decimal(4000)),
        ("webinar", "currency", EUR),
        ("webinar", "avg_deal_size", Decimal("2000.00")),
        ("webinar", "median_sales_cycle_days", 15.0),
        ("webinar", "median_speed_to_lead_seconds", 120.0),
        ("organic", "leads", 2),
        ("organic", "mqls", 1),
        ("organic", "sqls", 0),
        ("organic", "mql_rate", 0.5),
        ("organic", "win_rate", None),
        ("organic", "revenue", Decimal(0)),
        ("organic", "currency", None),
        ("organic", "avg_deal_size", None),
        ("organic", "median_sales_cycle_days", None),
        ("organic", "median_speed_to_lead_seconds", 30.0),
    ],
    ids=str,
)
def test_each_source_group_counts_and_rates_as_computed_by_hand(
    key: str, field: str, expected: object
) -> None:
    groups = by_key(funnel(FACTS, "source", COSTS))
    assert getattr(groups[key], field) == expected


def test_a_won_deal_counts_as_an_sql_even_without_an_sql_outcome() -> None:
    [group] = funnel(
        [LeadFact(T0, won_at=at(days=3), amount=Decimal(5), currency=EUR)], "source", {}
    )
    assert (group.sqls, group.won, group.win_rate) == (1, 1, 1.0)


def test_revenue_is_null_when_won_deals_mix_currencies() -> None:
    facts = [
        LeadFact(T0, utm_campaign="q4", won_at=at(days=1), amount=Decimal(10), currency="EUR"),
        LeadFact(T0, utm_campaign="q4", won_at=at(days=1), amount=Decimal(10), currency="USD"),
    ]
    [group] = funnel(facts, "utm_campaign", COSTS)
    assert (group.revenue, group.avg_deal_size, group.roi) == (None, None, None)
    assert group.cost == Decimal(1500)


def test_a_won_deal_without_an_amount_adds_nothing_to_revenue_but_counts_as_won() -> None:
    facts = [
        LeadFact(T0, won_at=at(days=1), amount=Decimal(300), currency=EUR),
        LeadFact(T0, won_at=at(days=3)),
    ]
    [group] = funnel(facts, "source", {})
    assert (group.won, group.revenue, group.avg_deal_size) == (2, Decimal(300), Decimal("150.00"))
    assert group.median_sales_cycle_days == 2.0


def test_the_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    facts = [LeadFact(T0, assigned_at=at(seconds=s)) for s in (10, 20, 40, 1000)]
    [group] = funnel(facts, "source", {})
    assert group.median_speed_to_lead_seconds == 30.0


def test_groups_come_biggest_first_and_the_no_value_group_last_among_equals() -> None:
    facts = [
        LeadFact(T0, country=None),
        LeadFact(T0, country="DE"),
        LeadFact(T0, country="FR"),
        LeadFact(T0, country="FR"),
    ]
    assert [g.key for g in funnel(facts, "country", {})] == ["FR", "DE", None]


def test_grouping_by_rep_keys_on_the_rep_id_and_labels_with_the_name() -> None:
    groups = by_key(funnel(FACTS, "rep", COSTS))
    assert (groups["r1"].label, groups["r1"].leads, groups["r1"].won) == ("Rita", 2, 2)
    assert (groups["r2"].label, groups["r2"].lost) == ("Sam", 1)
    assert groups[None].label is None


def test_no_facts_make_no_groups() -> None:
    assert funnel([], "industry", COSTS) == []
