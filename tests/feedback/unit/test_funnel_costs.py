"""Campaign costs in the funnel: which groups can carry a cost, cost per lead and ROI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from feedback.funnel import GroupBy, LeadFact, Money, funnel

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WON = T0 + timedelta(days=7)

FACTS = [
    LeadFact(T0, source="webinar", utm_source="linkedin", utm_campaign="q4", rep_id="r1",
             won_at=WON, amount=Decimal(4000), currency="EUR"),
    LeadFact(T0, source="webinar", utm_source="linkedin", utm_campaign="q4", rep_id="r2"),
    LeadFact(T0, source="webinar", utm_source="linkedin", utm_campaign="q4", rep_id="r1"),
    LeadFact(T0, source="organic", utm_source="google", utm_campaign="brand", rep_id="r1"),
    LeadFact(T0, source="organic", utm_source="google", utm_campaign=None),
]  # fmt: skip
COSTS = {"q4": Money(Decimal(1500), "EUR"), "brand": Money(Decimal(500), "EUR")}


@pytest.mark.parametrize(
    ("group_by", "key", "cost", "cost_per_lead", "roi"),
    [
        pytest.param("utm_campaign", "q4", Decimal(1500), Decimal("500.00"), 1.6667,
                     id="a campaign group carries its campaign's cost"),
        pytest.param("utm_campaign", "brand", Decimal(500), Decimal("500.00"), -1.0,
                     id="a costed campaign without revenue has an roi of minus one"),
        pytest.param("utm_campaign", None, None, None, None,
                     id="leads without a campaign have no cost"),
        pytest.param("utm_source", "linkedin", Decimal(1500), Decimal("500.00"), 1.6667,
                     id="another grouping carries a cost when whole campaigns fall in it"),
        pytest.param("utm_source", "google", None, None, None,
                     id="a group with a lead from no campaign has no cost"),
        pytest.param("rep", "r1", None, None, None,
                     id="a campaign split across groups gives none of them its cost"),
    ],
)  # fmt: skip
def test_costs_belong_only_to_groups_that_hold_whole_costed_campaigns(
    group_by: GroupBy,
    key: str | None,
    cost: Decimal | None,
    cost_per_lead: Decimal | None,
    roi: float | None,
) -> None:
    groups = {g.key: g for g in funnel(FACTS, group_by, COSTS)}
    assert (groups[key].cost, groups[key].cost_per_lead, groups[key].roi) == (
        cost,
        cost_per_lead,
        roi,
    )


def test_roi_is_null_when_cost_and_revenue_are_in_different_currencies() -> None:
    [group] = funnel(FACTS[:3], "utm_campaign", {"q4": Money(Decimal(1500), "USD")})
    assert (group.cost, group.cost_currency, group.currency, group.roi) == (
        Decimal(1500),
        "USD",
        "EUR",
        None,
    )


def test_a_free_campaign_has_no_cost_per_lead_of_money_and_no_roi() -> None:
    [group] = funnel(FACTS[:3], "utm_campaign", {"q4": Money(Decimal(0), "EUR")})
    assert (group.cost, group.cost_per_lead, group.roi) == (Decimal(0), Decimal("0.00"), None)


def test_campaigns_with_costs_in_different_currencies_give_a_mixed_group_no_cost() -> None:
    costs = {"q4": Money(Decimal(1), "EUR"), "brand": Money(Decimal(1), "USD")}
    facts = [LeadFact(T0, source="x", utm_campaign=c) for c in ("q4", "brand")]
    [group] = funnel(facts, "source", costs)
    assert group.cost is None
