"""The dashboard's pure parts: charts, weekly buckets, histogram, durations; session ids; CSV."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest

from feedback import charts, sessions
from feedback.dashboard import build, duration, speed_histogram, weekly
from feedback.export import funnel_csv
from feedback.funnel import LeadFact, Money, overall
from feedback.schemas import FunnelGroup

MONDAY = datetime(2026, 3, 2, 9, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def day(n: float) -> datetime:
    return MONDAY + timedelta(days=n)


def test_charts_are_well_formed_svg_with_titles_on_every_mark() -> None:
    bar = charts.bar_chart("c1", "Leads <by> source", "desc", ["w1", "w2"],
                           [charts.Series("a & b", [3, None]), charts.Series("c", [1, 2])],
                           stacked=True)  # fmt: skip
    root = ElementTree.fromstring(bar)
    assert (root.get("role"), root.get("aria-labelledby")) == ("img", "c1-t c1-d")
    assert root.find(f"{SVG}title").text == "Leads <by> source"  # type: ignore[union-attr]
    titles = [t.text for t in root.iter(f"{SVG}title")][1:]
    assert titles == ["w1 · a & b: 3", "w1 · c: 1", "w2 · a & b: 0", "w2 · c: 2"]
    line = charts.line_chart("c2", "t", "d", ["w1", "w2", "w3"],
                             [charts.Series("s", [0.5, None, 1.0])], top=1.0)  # fmt: skip
    root = ElementTree.fromstring(line)
    assert [c.find(f"{SVG}title").text for c in root.iter(f"{SVG}circle")] == [  # type: ignore[union-attr]
        "w1 · s: 50 %", "w3 · s: 100 %",
    ]  # fmt: skip
    assert root.find(f"{SVG}path").get("d").count("M") == 2  # type: ignore[union-attr]  # a gap
    hbar = charts.hbar_chart("c3", "t", "d", [("q1", 150.0, "+150 %"), ("q2", -40.0, "-40 %")])
    rects = list(ElementTree.fromstring(hbar).iter(f"{SVG}rect"))
    assert [r.get("fill") for r in rects] == [charts.POSITIVE, charts.NEGATIVE]
    assert "No data in this period" in charts.bar_chart("c4", "t", "d", [], [])


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1.0), (0.7, 1.0), (3, 5.0), (36, 50.0),
                                                 (101, 200.0), (5000, 5000.0)])  # fmt: skip
def test_nice_ceilings(value: float, ceiling: float) -> None:
    assert charts.nice_ceiling(value) == ceiling


@pytest.mark.parametrize(("peak", "whole", "top"), [(36, True, 40.0), (15, True, 20.0),
                                                    (1, True, 4.0), (0.7, False, 0.8)])  # fmt: skip
def test_axes_have_four_round_steps(peak: float, whole: bool, top: float) -> None:
    assert charts.axis_top(peak, whole=whole) == top


def test_weekly_buckets_start_on_monday_and_fold_small_groups_into_other() -> None:
    facts = [
        LeadFact(day(0), source="a", won_at=day(3)),
        LeadFact(day(6), source="a", lost_at=day(9)),  # Sunday: still week 1
        LeadFact(day(7), source="a"),
        *(LeadFact(day(1), source=f"s{i}") for i in range(6)),  # six one-lead sources
        LeadFact(day(15), source=None),
    ]
    w = weekly(facts, "source")
    assert w.weeks == [date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16)]
    assert w.names == ["a", "(none)", "s0", "s1", "s2", "other"]
    assert (w.leads[0], w.leads[1], w.leads[-1]) == ([2, 1, 0], [0, 0, 1], [3, 0, 0])
    assert w.win_rate[0] == [0.5, None, None]


def test_speed_to_lead_histogram_and_durations() -> None:
    facts = [
        LeadFact(day(0), assigned_at=day(0) + timedelta(seconds=59),
                 contacted_at=day(0) + timedelta(seconds=59 + 300)),
        LeadFact(day(0), assigned_at=day(0) + timedelta(seconds=60)),
        LeadFact(day(0), assigned_at=day(2)),
        LeadFact(day(0)),
    ]  # fmt: skip
    h = speed_histogram(facts)
    assert h.to_assigned == [1, 1, 0, 0, 0, 0, 1]
    assert h.to_contacted == [0, 0, 1, 0, 0, 0, 0]  # 300 s is in 5–15 min
    assert [duration(s) for s in (None, 42, 160, 3600, 3900, 691_200)] == [
        "–", "42 s", "2 min 40 s", "1 h", "1 h 5 min", "8.0 d",
    ]  # fmt: skip


def test_the_total_counts_the_costs_of_the_campaigns_in_the_period() -> None:
    facts = [LeadFact(day(0), utm_campaign="q1", won_at=day(1), amount=Decimal(300),
                      currency="EUR"), LeadFact(day(0), utm_campaign=None)]  # fmt: skip
    costs = {"q1": Money(Decimal(100), "EUR"), "q9": Money(Decimal(999), "EUR")}
    total = overall(facts, costs)
    assert total is not None
    assert (total.leads, total.cost, total.cac, total.roi) == (2, Decimal(100), Decimal(100), 2.0)
    assert overall([], costs) is None
    empty = build([], costs)
    assert empty.total is None
    assert "No data" in empty.charts["funnel"]


def test_only_a_well_formed_cookie_is_looked_up_and_only_its_hash_is_stored() -> None:
    value = secrets.token_urlsafe(32)
    key = sessions.session_hash(value)
    assert key is not None
    assert value not in key
    assert len(key) == 64
    odd = [None, "", "x", "x.y", "9999999999.forged", value + "A", value[:-1] + "é",
           value[:-1] + "\x00", "²" * 43, "A" * 5000]  # fmt: skip
    assert [sessions.session_hash(v) for v in odd] == [None] * len(odd)


def test_a_bootstrap_session_is_bound_to_the_admin_token_it_was_opened_with() -> None:
    first = sessions.bootstrap_fingerprint("admin-1")
    assert "admin-1" not in first
    assert first == sessions.bootstrap_fingerprint("admin-1")
    assert first != sessions.bootstrap_fingerprint("admin-2")


def test_csv_cells_cannot_start_a_formula() -> None:
    group = FunnelGroup(
        key="=HYPERLINK(1)", label="-x", leads=1, mqls=0, rejected=0, verdicts=0,
        acceptance_rate=None, acceptance_wilson_lower=None, acceptance_wilson_upper=None,
        acceptance_status="insufficient_data", rejection_reasons={"spam": 2, "other": 1},
        sqls=0, won=0, lost=0, mql_rate=0.0, win_rate=None, revenue=0.0, currency=None,
        avg_deal_size=None,
        median_sales_cycle_days=None, median_speed_to_lead_seconds=None,
        median_assigned_to_contacted_seconds=None, cost=None, cost_currency=None,
        cost_per_lead=None, cac=None, roi=-0.5,
    )  # fmt: skip
    row = funnel_csv([group]).split("\r\n")[1]
    assert row == (
        "'=HYPERLINK(1),'-x,1,0,0,0,0,0.0,,0.0,,,,,,,,,,-0.5,0,0,,,,insufficient_data,"
        "spam=2;other=1,,"
    )
