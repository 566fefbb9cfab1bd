"""The dashboard pages' one set of day helpers (dashboard, sales ops, lab): the window check,
the default window and the instants a window of days spans."""

from __future__ import annotations

from datetime import UTC, date, datetime

from feedback.api_dashboard import DaysAsked
from feedback.days import default_window, end_of, period, start_of, window_error
from feedback.lab_view import blank, read_form

TODAY = date(2026, 3, 31)


def test_a_window_may_not_end_before_it_starts_nor_span_more_than_366_days() -> None:
    assert window_error(date(2026, 3, 2), date(2026, 3, 1)) == "to: must not be before from"
    assert window_error(date(2025, 1, 1), date(2026, 1, 2)) == "to: at most 366 days after from"
    assert window_error(date(2025, 1, 1), date(2026, 1, 1)) is None  # 366 days
    assert window_error(date(2026, 3, 1), date(2026, 3, 1)) is None


def test_the_default_window_is_the_last_30_days_today_included() -> None:
    assert default_window(TODAY) == (date(2026, 3, 2), TODAY)
    assert blank("scoring", TODAY).values["from"] == "2026-03-02"


def test_a_window_of_days_spans_from_the_first_midnight_to_the_one_after_the_last_day() -> None:
    assert start_of(date(2026, 3, 1)) == datetime(2026, 3, 1, tzinfo=UTC)
    assert end_of(date(2026, 3, 31)) == datetime(2026, 4, 1, tzinfo=UTC)
    assert end_of(date(2026, 12, 31)) == datetime(2027, 1, 1, tzinfo=UTC)


def test_the_pages_period_and_the_lab_form_say_the_same_of_a_window() -> None:
    for from_, to in (("2026-03-02", "2026-03-01"), ("2025-01-01", "2026-03-01")):
        *_, errors = period(from_, to, TODAY)
        draft = read_form("scoring", {"from": from_, "to": to})
        assert errors == draft.errors, (from_, to)
    assert period("2026-03-05", None, TODAY) == (date(2026, 3, 5), TODAY, [])
    assert period("nope", None, TODAY) == (
        date(2026, 3, 2),
        TODAY,
        ["from: not a date (YYYY-MM-DD)"],
    )
    draft = read_form("routing", {"from": "2026-03-01", "to": "2026-03-31"})
    assert draft.request == {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


def test_a_page_asked_for_days_sends_the_login_form_back_to_them() -> None:
    assert DaysAsked("2026-03-01", None).query() == "?from=2026-03-01"
    assert DaysAsked("2026-03-01", "2026-03-31").query() == "?from=2026-03-01&to=2026-03-31"
    assert DaysAsked(None, "a&b").query() == "?to=a%26b"
    assert DaysAsked(None, "").query() == ""
