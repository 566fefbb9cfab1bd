"""The dashboard's figures and charts (pure): from lead facts and costs to SVG and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from feedback import charts
from feedback.funnel import DEFAULT_MIN_VERDICTS, GroupMetrics, LeadFact, Money, funnel, overall

TOP_GROUPS = 5
MAX_WEEKS = 26
NONE_LABEL = "(none)"
OTHER_LABEL = "other"
# Speed-to-lead histogram: (upper bound in seconds, exclusive; label). The last is open.
SPEED_BUCKETS: tuple[tuple[float, str], ...] = (
    (60, "< 1m"),
    (300, "1–5m"),
    (900, "5–15m"),
    (3600, "15–60m"),
    (14_400, "1–4h"),
    (86_400, "4–24h"),
    (float("inf"), "> 1d"),
)


@dataclass(frozen=True)
class Weekly:
    """Leads and win rate per week (Monday, UTC) for the biggest groups of one attribute."""

    weeks: list[date]
    names: list[str]
    leads: list[list[int]]  # per name, per week
    win_rate: list[list[float | None]]  # won / (won + lost) of the week's leads


@dataclass(frozen=True)
class Histogram:
    labels: list[str]
    to_assigned: list[int]
    to_contacted: list[int]


@dataclass(frozen=True)
class Dashboard:
    total: GroupMetrics | None
    by_source: list[GroupMetrics]
    by_campaign: list[GroupMetrics]
    weekly_source: Weekly
    weekly_campaign: Weekly
    speed: Histogram
    charts: dict[str, str]


def week_of(fact: LeadFact) -> date:
    day = fact.captured_at.date()
    return day - timedelta(days=day.weekday())


def weekly(facts: Sequence[LeadFact], attribute: str) -> Weekly:
    """The `TOP_GROUPS` biggest values of `attribute` (the rest as "other"), per week."""
    if not facts:
        return Weekly([], [], [], [])
    first, last = min(map(week_of, facts)), max(map(week_of, facts))
    first = max(first, last - timedelta(weeks=MAX_WEEKS - 1))
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    sizes: dict[str, int] = {}
    for f in facts:
        name = getattr(f, attribute) or NONE_LABEL
        sizes[name] = sizes.get(name, 0) + 1
    ordered = sorted(sizes, key=lambda n: (-sizes[n], n))
    names = ordered[:TOP_GROUPS] + ([OTHER_LABEL] if len(ordered) > TOP_GROUPS else [])
    cells = {(n, w): [0, 0, 0] for n in names for w in weeks}  # leads, won, lost
    for f in facts:
        name = getattr(f, attribute) or NONE_LABEL
        cell = cells.get((name if name in names[:TOP_GROUPS] else OTHER_LABEL, week_of(f)))
        if cell is None:
            continue  # older than the weeks shown
        cell[0] += 1
        cell[1] += f.won_at is not None
        cell[2] += f.lost_at is not None
    leads = [[cells[n, w][0] for w in weeks] for n in names]
    rates = [[_rate(cells[n, w][1], cells[n, w][2]) for w in weeks] for n in names]
    return Weekly(weeks, names, leads, rates)


def _rate(won: int, lost: int) -> float | None:
    return round(won / (won + lost), 4) if won + lost else None


def speed_histogram(facts: Sequence[LeadFact]) -> Histogram:
    """How many leads were assigned (and contacted after assignment) within each bucket."""
    to_assigned = [0] * len(SPEED_BUCKETS)
    to_contacted = [0] * len(SPEED_BUCKETS)
    for f in facts:
        if f.assigned_at is not None:
            to_assigned[_bucket((f.assigned_at - f.captured_at).total_seconds())] += 1
            if f.contacted_at is not None:
                to_contacted[_bucket((f.contacted_at - f.assigned_at).total_seconds())] += 1
    return Histogram([label for _, label in SPEED_BUCKETS], to_assigned, to_contacted)


def _bucket(seconds: float) -> int:
    return next(i for i, (upper, _) in enumerate(SPEED_BUCKETS) if seconds < upper)


def duration(seconds: float | None) -> str:
    """1 h 5 min, 3 min 20 s, 45 s, 2.5 d: the unit a reader thinks in."""
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if seconds < 86_400:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    return f"{seconds / 86_400:.1f} d"


def roi_items(by_campaign: Sequence[GroupMetrics]) -> list[tuple[str, float, str]]:
    """(campaign, ROI in %, label) of each costed campaign whose ROI is known, best first."""
    items = [
        (g.key, g.roi * 100, f"{g.roi * 100:+.0f} %")
        for g in by_campaign
        if g.key is not None and g.roi is not None
    ]
    return sorted(items, key=lambda i: (-i[1], i[0]))


def build(
    facts: Sequence[LeadFact],
    costs: Mapping[str, Money],
    *,
    min_verdicts: int = DEFAULT_MIN_VERDICTS,
) -> Dashboard:
    total = overall(facts, costs, min_verdicts=min_verdicts)
    by_campaign = funnel(facts, "utm_campaign", costs, min_verdicts=min_verdicts)
    ws, wc = weekly(facts, "source"), weekly(facts, "utm_campaign")
    speed = speed_histogram(facts)
    steps = ["Leads", "MQLs", "SQLs", "Won", "Lost"]
    counts: list[float | None] = (
        [total.leads, total.mqls, total.sqls, total.won, total.lost] if total else []
    )
    drawn = {
        "funnel": charts.bar_chart(
            "chart-funnel",
            "Funnel",
            "Leads captured in the period, and how many became MQLs, SQLs, won and lost.",
            steps if total else [],
            [charts.Series("Leads in the period", counts)],
        ),
        "speed": charts.bar_chart(
            "chart-speed",
            "Speed to lead",
            "How many leads were assigned within each time after capture, and contacted "
            "within each time after assignment.",
            speed.labels,
            [
                charts.Series("Captured → assigned", list(map(float, speed.to_assigned))),
                charts.Series("Assigned → contacted", list(map(float, speed.to_contacted))),
            ],
        ),
        "roi": charts.hbar_chart(
            "chart-roi",
            "ROI per campaign",
            "Return on the campaign's cost: (revenue − cost) / cost, in percent.",
            roi_items(by_campaign),
        ),
    }
    for key, label, w in (("source", "source", ws), ("campaign", "campaign", wc)):
        weeks = [d.strftime("%d %b") for d in w.weeks]
        drawn[f"leads_{key}"] = charts.bar_chart(
            f"chart-leads-{key}",
            f"Leads per week by {label}",
            f"Leads captured each week (weeks start on Monday), by {label}.",
            weeks,
            [charts.Series(n, list(map(float, v))) for n, v in zip(w.names, w.leads, strict=True)],
            stacked=True,
        )
        drawn[f"win_{key}"] = charts.line_chart(
            f"chart-win-{key}",
            f"Win rate per week by {label}",
            f"Won / (won + lost) of the leads captured each week, by {label}; a gap where "
            "none of them has closed.",
            weeks,
            [charts.Series(n, v) for n, v in zip(w.names, w.win_rate, strict=True)],
            top=1.0,
        )
    return Dashboard(
        total=total,
        by_source=funnel(facts, "source", costs, min_verdicts=min_verdicts),
        by_campaign=by_campaign,
        weekly_source=ws,
        weekly_campaign=wc,
        speed=speed,
        charts=drawn,
    )
