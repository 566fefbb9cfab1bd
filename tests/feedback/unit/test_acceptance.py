"""Lead quality (issue 24): verdicts, the acceptance rate with its Wilson interval, the
minimum of verdicts, rejection reasons, and the segments ranking weighing rejections."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from feedback.acceptance import acceptance, rate, rejection_reasons, verdict
from feedback.funnel import LeadFact, funnel
from feedback.insights import segments

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
MQL = LeadFact(T0, source="webinar", mql_at=T0)


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        pytest.param(LeadFact(T0, rejected_at=T0 + H), None, id="not an MQL: no verdict"),
        pytest.param(MQL, None, id="an MQL nobody judged yet"),
        pytest.param(replace(MQL, rejected_at=T0 + H), "rejected", id="rejected"),
        pytest.param(replace(MQL, contacted_at=T0 + H), "accepted", id="contacted"),
        pytest.param(replace(MQL, lost_at=T0 + H), "accepted", id="lost: it was worked"),
        pytest.param(
            replace(MQL, contacted_at=T0 + H, rejected_at=T0 + 2 * H),
            "rejected",
            id="contacted, then rejected",
        ),
        pytest.param(
            replace(MQL, rejected_at=T0 + H, sql_at=T0 + 3 * H),
            "accepted",
            id="recycled, qualified again, then sql",
        ),
        pytest.param(
            replace(MQL, contacted_at=T0 + H, rejected_at=T0 + H),
            "rejected",
            id="a tie goes to the rejection",
        ),
    ],
)
def test_the_verdict_on_an_mql(lead: LeadFact, expected: str | None) -> None:
    assert verdict(lead) == expected


def webinar() -> list[LeadFact]:
    """12 MQLs and a lead that never qualified: 3 rejected, 7 accepted, 2 not judged."""
    rejected = [
        replace(MQL, rejected_at=T0 + H, rejection_reason=reason)
        for reason in ("not_ready", "spam", "not_ready")
    ]
    accepted = [replace(MQL, contacted_at=T0 + H) for _ in range(7)]
    return [*rejected, *accepted, MQL, MQL, LeadFact(T0, source="webinar")]


def test_the_funnel_counts_rejections_and_the_acceptance_rate_by_hand() -> None:
    [group] = funnel(webinar(), "source", {}, min_verdicts=10)
    a = group.acceptance
    assert (group.leads, group.mqls) == (13, 12)
    # verdicts = 3 + 7 = 10, accepted = 7: 7/10 = .7; Wilson (7 of 10): centre = (.7 +
    # .192073)/1.384146 = .644492, margin = 1.416009 × √(.021 + .009604) = .247716.
    assert (a.verdicts, a.rejected, a.accepted) == (10, 3, 7)
    assert (a.rate, a.wilson_lower, a.wilson_upper, a.status) == (0.7, 0.3968, 0.8922, "measured")
    assert group.rejection_reasons == {"not_ready": 2, "spam": 1}
    assert list(group.rejection_reasons) == ["not_ready", "spam"]  # most frequent first


def test_below_the_minimum_of_verdicts_there_is_no_rate_and_it_says_so() -> None:
    [group] = funnel(webinar(), "source", {}, min_verdicts=11)
    a = group.acceptance
    assert (a.verdicts, a.rejected) == (10, 3)
    assert (a.rate, a.wilson_lower, a.wilson_upper, a.status) == (
        None,
        None,
        None,
        "insufficient_data",
    )


def test_no_verdict_at_all_divides_nothing() -> None:
    a = acceptance([MQL, LeadFact(T0)], min_verdicts=1)
    assert (a.verdicts, a.rejected, a.rate, a.status) == (0, 0, None, "insufficient_data")
    assert rate(0, 0, 1).status == "insufficient_data"
    assert rejection_reasons([MQL]) == {}


def test_the_funnel_groups_by_form_and_by_rep() -> None:
    facts = [
        replace(MQL, form_id="demo", rep_id="r1", rep_name="Rita", rejected_at=T0 + H),
        replace(MQL, form_id="demo", rep_id="r2", rep_name="Sam", contacted_at=T0 + H),
        replace(MQL, form_id="trial", rep_id="r2", rep_name="Sam", contacted_at=T0 + H),
    ]
    by_form = {g.key: g.acceptance for g in funnel(facts, "form", {}, min_verdicts=1)}
    assert {k: (a.verdicts, a.rejected, a.rate) for k, a in by_form.items()} == {
        "demo": (2, 1, 0.5),
        "trial": (1, 0, 1.0),
    }
    by_rep = {g.label: g.acceptance.rejected for g in funnel(facts, "rep", {}, min_verdicts=1)}
    assert by_rep == {"Rita": 1, "Sam": 0}


def settled(source: str, won: int, lost: int, rejected: int) -> list[LeadFact]:
    base = LeadFact(T0, source=source, mql_at=T0)
    return (
        [replace(base, won_at=T0 + H) for _ in range(won)]
        + [replace(base, lost_at=T0 + H) for _ in range(lost)]
        + [replace(base, rejected_at=T0 + H, rejection_reason="not_a_fit")] * rejected
    )


def test_the_segments_ranking_counts_a_rejection_against_a_segment_like_a_lost_deal() -> None:
    # By wins alone "picky" (10 of 15 closed) beats "steady" (10 of 20); counting its 10
    # rejections it has won 10 of 25 settled leads and ranks below.
    facts = [*settled("steady", 10, 10, 0), *settled("picky", 10, 5, 10)]
    found = {s.value: s for s in segments(facts, min_sample=5, min_verdicts=5)}
    steady, picky = found["steady"], found["picky"]
    assert (picky.win_rate, steady.win_rate) == (0.6667, 0.5)
    assert (picky.rank, steady.rank) == (2, 1)
    assert (picky.sample_size, picky.rejected, picky.yield_rate) == (25, 10, 0.4)
    # 10 of 25: p = .4, z²/n = .153658; centre = (.4 + .076829)/1.153658 = .413319;
    # margin = 1.698906 × √(.0096 + .001537) = 1.698906 × .105532 = .179289.
    assert picky.yield_lower == 0.234
    # Acceptance: 15 accepted of 25 verdicts = .6.
    assert (picky.acceptance.rate, picky.acceptance.verdicts) == (0.6, 25)
    assert (steady.acceptance.rate, steady.yield_rate) == (1.0, 0.5)
