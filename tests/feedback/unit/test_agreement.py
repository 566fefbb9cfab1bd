"""The agreement's status (issue 24), on a fixed clock and a month whose length the test
sets: every figure below is worked out by hand from the leads built here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from feedback.agreement import PromiseStatus, Targets, month_of, status
from feedback.funnel import LeadFact

DEC = datetime(2026, 12, 1, tzinfo=UTC)
NOW = DEC + timedelta(days=9)  # 10 Dec 00:00: 9 days of the month have passed
TERMS = Targets(mqls_per_month=120, min_acceptance_rate=0.8, contact_within_minutes=60)
WEBINAR = Targets(mqls_per_month=90)


def the_month() -> list[LeadFact]:
    """45 MQLs in December (30 webinar, 15 ads): 20 contacted, 10 rejected, 15 untouched,
    2 of the untouched assigned an hour before NOW; and one November MQL."""
    day2 = DEC + timedelta(days=1, hours=9)
    contacted = [
        LeadFact(DEC, source="webinar", mql_at=DEC + timedelta(days=k % 9), assigned_at=day2,
                 contacted_at=day2 + timedelta(minutes=10 * k))
        for k in range(1, 21)
    ]  # fmt: skip
    rejected = [
        LeadFact(DEC, source="webinar", mql_at=DEC + timedelta(days=2), assigned_at=day2,
                 rejected_at=day2 + timedelta(hours=1), rejection_reason="not_a_fit")
        for _ in range(10)
    ]  # fmt: skip
    untouched = [LeadFact(DEC, source="ads", mql_at=DEC + timedelta(days=3)) for _ in range(15)]
    waiting = NOW - timedelta(hours=1)
    untouched[0] = replace(untouched[0], assigned_at=waiting)
    untouched[1] = replace(untouched[1], assigned_at=waiting)
    november = LeadFact(DEC, source="ads", mql_at=DEC - timedelta(days=1))
    return [*contacted, *rejected, *untouched, november]


def figures(p: PromiseStatus) -> tuple[object, ...]:
    return (p.promise, p.team, p.source, p.target, p.actual, p.projection, p.on_track, p.sample)


def test_each_promise_against_figures_worked_out_by_hand() -> None:
    month = month_of(2026, 12, 30, NOW)  # a 30-day month, injected
    found = status(TERMS, [("webinar", WEBINAR)], the_month(), month, NOW, min_verdicts=10,
                   min_projection_days=7)  # fmt: skip
    assert [figures(p) for p in found] == [
        # 45 MQLs in 9 days → 45 / 9 × 30 = 150 ≥ 120.
        ("mqls_per_month", "marketing", None, 120.0, 45.0, 150.0, True, 45),
        # 30 verdicts (20 contacted, 10 rejected): 20/30 = .6667 < .8.
        ("min_acceptance_rate", "marketing", None, 0.8, 0.6667, 0.6667, False, 30),
        # Webinar: 30 MQLs → 30 / 9 × 30 = 100 ≥ 90.
        ("mqls_per_month", "marketing", "webinar", 90.0, 30.0, 100.0, True, 30),
        # 20 contacted after 10, 20 … 200 min and 2 waiting 60 min so far (the rejected ones
        # are left out): 22 waits, the 11th and 12th are 90 and 100 → 95 > 60.
        ("contact_within_minutes", "sales", None, 60.0, 95.0, 95.0, False, 22),
    ]
    assert {p.projection_days for p in found} == {9}
    rate = found[1]
    # Wilson 20 of 30: z²/n = .128049; centre = (.666667 + .064024)/1.128049 = .647747;
    # margin = 1.737481 × √(.0074074 + .0010670) = .159948.
    assert (rate.wilson_lower, rate.wilson_upper, rate.status) == (0.4878, 0.8077, "measured")


def test_no_projection_on_too_few_days_and_no_rate_on_too_few_verdicts() -> None:
    early = DEC + timedelta(days=2, hours=12)  # 2.5 days in: 2 whole days
    found = status(TERMS, [], the_month(), month_of(2026, 12, 31, early), early,
                   min_verdicts=31, min_projection_days=7)  # fmt: skip
    mqls, acceptance, contact = found
    assert (mqls.actual, mqls.projection, mqls.on_track, mqls.status) == (
        45.0, None, None, "insufficient_data")  # fmt: skip
    assert mqls.projection_days == 2
    assert "7 days" in mqls.note
    assert (acceptance.actual, acceptance.on_track, acceptance.status) == (
        None, None, "insufficient_data")  # fmt: skip
    assert "30 verdicts" in acceptance.note
    assert (contact.actual, contact.on_track, contact.status) == (None, None, "insufficient_data")


def test_a_month_that_is_over_projects_its_count_and_one_not_begun_has_nothing() -> None:
    later = datetime(2027, 1, 15, tzinfo=UTC)
    [mqls] = status(Targets(mqls_per_month=50), [], the_month(), month_of(2026, 12, 31, later),
                    later, min_verdicts=10, min_projection_days=7)  # fmt: skip
    assert (mqls.actual, mqls.projection, mqls.on_track, mqls.projection_days) == (
        45.0, 45.0, False, 31)  # fmt: skip
    before = DEC - timedelta(days=3)
    [mqls] = status(Targets(mqls_per_month=50), [], [], month_of(2026, 12, 31, before),
                    before, min_verdicts=10, min_projection_days=7)  # fmt: skip
    assert (mqls.actual, mqls.projection, mqls.on_track) == (0.0, None, None)


@pytest.mark.parametrize(("days", "projection"), [(28, 140.0), (31, 155.0)])
def test_the_projection_follows_the_months_length(days: int, projection: float) -> None:
    [mqls] = status(Targets(mqls_per_month=1), [], the_month(), month_of(2026, 12, days, NOW),
                    NOW, min_verdicts=10, min_projection_days=7)  # fmt: skip
    assert mqls.projection == projection  # 45 / 9 × days


class Counted(list[LeadFact]):
    """The month's facts, counting how often they are walked through."""

    walks = 0

    def __iter__(self) -> Iterator[LeadFact]:
        self.walks += 1
        return super().__iter__()


def test_the_month_is_walked_the_same_number_of_times_however_many_sources() -> None:
    month = month_of(2026, 12, 31, NOW)
    walks, webinar = [], []
    for sources in (1, 100):
        per_source = [(f"other-{k}", WEBINAR) for k in range(sources - 1)]
        leads = Counted(the_month())
        found = status(TERMS, [*per_source, ("webinar", WEBINAR)], leads, month, NOW,
                       min_verdicts=10, min_projection_days=7)  # fmt: skip
        walks.append(leads.walks)
        webinar.append([figures(p) for p in found if p.source == "webinar"])
    assert walks[0] == walks[1]
    assert webinar[0] == webinar[1] != []
