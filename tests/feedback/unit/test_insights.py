"""Targeting insights: the Wilson bound against hand-computed values, bands, ranking, flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from feedback.funnel import LeadFact
from feedback.insights import segments, size_band, wilson_interval

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("won", "n", "low", "high"),
    [
        # 5/10: p = .5, z² = 3.841459, z²/n = .384146; centre = (.5 + .192073)/1.384146 = .5;
        # margin = 1.959964/1.384146 × √(.025 + .009604) = 1.416009 × .186020 = .263407.
        pytest.param(5, 10, 0.2366, 0.7634, id="5 of 10"),
        # 0/10: the lower bound is 0, the upper z²/(n + z²) = 3.841459/13.841459 = .277533.
        pytest.param(0, 10, 0.0, 0.2775, id="0 of 10"),
        # 20/20: the upper bound is 1, the lower n/(n + z²) = 20/23.841459 = .838875.
        pytest.param(20, 20, 0.8389, 1.0, id="20 of 20"),
        # 7/10: centre = (.7 + .192073)/1.384146 = .644492; margin = 1.416009 ×
        # √(.021 + .009604) = 1.416009 × .174940 = .247716.
        pytest.param(7, 10, 0.3968, 0.8922, id="7 of 10"),
        # 1/1: centre = (1 + 1.920730)/4.841459 = .603261; margin = .404827 × √(0 + .960365)
        # = .404827 × .979982 = .396723.
        pytest.param(1, 1, 0.2065, 1.0, id="1 of 1"),
    ],
)
def test_the_wilson_interval_matches_hand_computed_values(
    won: int, n: int, low: float, high: float
) -> None:
    interval = wilson_interval(won, n)
    assert interval is not None
    assert (round(interval[0], 4), round(interval[1], 4)) == (low, high)


def test_no_sample_has_no_interval_and_nonsense_is_refused() -> None:
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError, match="between"):
        wilson_interval(3, 2)


@pytest.mark.parametrize(
    ("size", "band"),
    [(None, None), (0, None), (1, "1-10"), (10, "1-10"), (11, "11-50"), (50, "11-50"),
     (51, "51-200"), (200, "51-200"), (201, "201-1000"), (1000, "201-1000"),
     (1001, "1001+"), (250_000, "1001+")],
)  # fmt: skip
def test_company_size_bands(size: int | None, band: str | None) -> None:
    assert size_band(size) == band


def closed(source: str, won: int, lost: int, **attrs: Any) -> list[LeadFact]:
    base = LeadFact(T0, source=source)
    return [replace(base, won_at=T0, **attrs) for _ in range(won)] + [
        replace(base, lost_at=T0, **attrs) for _ in range(lost)
    ]


def test_a_steady_big_segment_beats_a_lucky_small_one_and_small_ones_are_flagged() -> None:
    facts = [
        # 70 % of 20: centre = (.7 + .096037)/1.192073 = .667765; margin = 1.644167 ×
        # √(.0105 + .002401) = .186748 → .4810 – .8545.
        *closed("big", 14, 6),
        *closed("lucky", 3, 0),  # 100 % of 3: not ranked (min 5)
        *closed("fair", 4, 1),  # 80 % of 5: lower bound .3755
        LeadFact(T0, source="open"),  # no close at all
    ]
    found = segments(facts, min_sample=5)
    assert [(s.value, s.rank, s.status) for s in found] == [
        ("big", 1, "ranked"),
        ("fair", 2, "ranked"),
        ("lucky", None, "insufficient_data"),
        ("open", None, "insufficient_data"),
    ]
    big = found[0]
    assert (big.leads, big.won, big.lost, big.sample_size, big.win_rate) == (20, 14, 6, 20, 0.7)
    assert (big.wilson_lower, big.wilson_upper) == (0.4810, 0.8545)
    open_ = found[-1]
    assert (open_.sample_size, open_.win_rate, open_.wilson_lower) == (0, None, None)


def test_every_dimension_makes_segments_and_unknown_values_make_none() -> None:
    facts = closed("web", 1, 1, utm_campaign="q1", country="DE", industry="saas")
    found = {(s.dimension, s.value) for s in segments(facts, min_sample=1)}
    assert found == {
        ("source", "web"),
        ("utm_campaign", "q1"),
        ("country", "DE"),
        ("industry", "saas"),
    }  # fmt: skip  (company size unknown: no band)
