"""Targeting insights (pure): segments ranked by what sales made of their leads.

A segment is one value of one dimension (source, utm_campaign, country, industry, company
size band). Its sample is its settled leads: won + lost + rejected (MQLs whose verdict is a
rejection and that never closed, `feedback.acceptance`). The ranking key is the lower bound
of the 95 % Wilson score interval of won / settled (`yield_rate`): a rejection counts
against a segment exactly as a lost deal does, so acceptance weighs as much as wins, and a
small segment with a lucky streak does not beat a big one that wins steadily. Without
rejections this is the win rate's bound, as before. Segments with fewer settled leads than
`min_sample` are returned flagged `insufficient_data` and not ranked. Each segment also shows
its win rate (won / (won + lost)) and its acceptance rate, each with its interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from feedback.acceptance import Acceptance, rate, verdict
from feedback.funnel import DEFAULT_MIN_VERDICTS, LeadFact
from leadflow.stats import Z_95, wilson_interval

__all__ = ["Z_95", "Segment", "segments", "size_band", "wilson_interval"]

DIMENSIONS = ("source", "utm_campaign", "country", "industry", "company_size_band")
# (upper bound inclusive, label); the last band is open.
SIZE_BANDS: tuple[tuple[int, str], ...] = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (1000, "201-1000"),
)
OPEN_BAND = "1001+"

Status = Literal["ranked", "insufficient_data"]


def size_band(company_size: int | None) -> str | None:
    """The company size band of a head count (None when unknown)."""
    if company_size is None or company_size < 1:
        return None
    for upper, label in SIZE_BANDS:
        if company_size <= upper:
            return label
    return OPEN_BAND


@dataclass(frozen=True)
class Segment:
    dimension: str
    value: str
    leads: int
    won: int
    lost: int
    rejected: int
    sample_size: int
    win_rate: float | None
    wilson_lower: float | None
    wilson_upper: float | None
    acceptance: Acceptance
    yield_rate: float | None
    yield_lower: float | None
    rank: int | None
    status: Status


def dimension_value(fact: LeadFact, dimension: str) -> str | None:
    if dimension == "company_size_band":
        return size_band(fact.company_size)
    value: str | None = getattr(fact, dimension)
    return value


def segments(
    facts: Sequence[LeadFact], min_sample: int, *, min_verdicts: int = DEFAULT_MIN_VERDICTS
) -> list[Segment]:
    """Ranked segments first (best lower bound first), then the under-sampled ones.

    Leads without a value for a dimension are in no segment of it. Ties in the lower bound
    go to the bigger sample, then by dimension and value, so the order is stable.
    """
    counts: dict[tuple[str, str], list[int]] = {}
    for fact in facts:
        for dimension in DIMENSIONS:
            value = dimension_value(fact, dimension)
            if value is None:
                continue
            judged = verdict(fact)
            closed = fact.won_at is not None or fact.lost_at is not None
            c = counts.setdefault((dimension, value), [0, 0, 0, 0, 0, 0])
            c[0] += 1
            c[1] += fact.won_at is not None
            c[2] += fact.lost_at is not None
            c[3] += judged == "rejected" and not closed  # settled by the rejection alone
            c[4] += judged is not None
            c[5] += judged == "rejected"
    built = [
        _segment(d, v, c, min_sample=min_sample, min_verdicts=min_verdicts)
        for (d, v), c in counts.items()
    ]
    ranked = sorted(
        (s for s in built if s.status == "ranked"),
        key=lambda s: (-(s.yield_lower or 0.0), -s.sample_size, s.dimension, s.value),
    )
    flagged = sorted(
        (s for s in built if s.status != "ranked"),
        key=lambda s: (-s.sample_size, s.dimension, s.value),
    )
    return [replace(s, rank=i) for i, s in enumerate(ranked, 1)] + flagged


def _segment(
    dimension: str, value: str, c: list[int], *, min_sample: int, min_verdicts: int
) -> Segment:
    leads, won, lost, rejected, verdicts, rejections = c
    # A lead rejected after it closed (rare) is settled once, as closed.
    closed, settled = won + lost, won + lost + rejected
    interval = wilson_interval(won, closed)
    settled_interval = wilson_interval(won, settled)
    return Segment(
        dimension=dimension,
        value=value,
        leads=leads,
        won=won,
        lost=lost,
        rejected=rejected,
        sample_size=settled,
        win_rate=round(won / closed, 4) if closed else None,
        wilson_lower=round(interval[0], 4) if interval else None,
        wilson_upper=round(interval[1], 4) if interval else None,
        acceptance=rate(verdicts - rejections, verdicts, min_verdicts),
        yield_rate=round(won / settled, 4) if settled else None,
        yield_lower=round(settled_interval[0], 4) if settled_interval else None,
        rank=None,
        status="ranked" if settled >= max(min_sample, 1) else "insufficient_data",
    )
