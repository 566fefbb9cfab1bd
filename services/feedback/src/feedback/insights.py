"""Targeting insights (pure): segments ranked by the Wilson lower bound of their win rate.

A segment is one value of one dimension (source, utm_campaign, country, industry, company
size band). Its sample is its closed leads (won + lost). The ranking key is the lower bound
of the 95 % Wilson score interval of won / closed: a small segment with a lucky streak does
not beat a big one that wins steadily. Segments with fewer closed leads than `min_sample`
are returned flagged `insufficient_data` and not ranked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from feedback.funnel import LeadFact

Z_95 = 1.959963984540054  # the two-sided 95 % normal quantile
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


def wilson_interval(won: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of the proportion won / n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= won <= n:
        raise ValueError("won must be between 0 and n")
    p = won / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    margin = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, centre - margin), min(1.0, centre + margin)


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
    sample_size: int
    win_rate: float | None
    wilson_lower: float | None
    wilson_upper: float | None
    rank: int | None
    status: Status


def dimension_value(fact: LeadFact, dimension: str) -> str | None:
    if dimension == "company_size_band":
        return size_band(fact.company_size)
    value: str | None = getattr(fact, dimension)
    return value


def segments(facts: Sequence[LeadFact], min_sample: int) -> list[Segment]:
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
            c = counts.setdefault((dimension, value), [0, 0, 0])
            c[0] += 1
            c[1] += fact.won_at is not None
            c[2] += fact.lost_at is not None
    built = [_segment(d, v, *c, min_sample=min_sample) for (d, v), c in counts.items()]
    ranked = sorted(
        (s for s in built if s.status == "ranked"),
        key=lambda s: (-(s.wilson_lower or 0.0), -s.sample_size, s.dimension, s.value),
    )
    flagged = sorted(
        (s for s in built if s.status != "ranked"),
        key=lambda s: (-s.sample_size, s.dimension, s.value),
    )
    return [replace(s, rank=i) for i, s in enumerate(ranked, 1)] + flagged


def _segment(
    dimension: str, value: str, leads: int, won: int, lost: int, *, min_sample: int
) -> Segment:
    n = won + lost
    interval = wilson_interval(won, n)
    return Segment(
        dimension=dimension,
        value=value,
        leads=leads,
        won=won,
        lost=lost,
        sample_size=n,
        win_rate=round(won / n, 4) if n else None,
        wilson_lower=round(interval[0], 4) if interval else None,
        wilson_upper=round(interval[1], 4) if interval else None,
        rank=None,
        status="ranked" if n >= max(min_sample, 1) else "insufficient_data",
    )
