"""When a rep can take a lead: status, out of office, working hours in their timezone, capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from sales_assignment.availability import WeeklyHours, WorkingHoursError, unavailable_reason
from sales_assignment.facts import Rep

# Monday 2025-03-03 is a plain winter Monday; Berlin is UTC+1, New York UTC-5.
MONDAY_10_UTC = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
OFFICE = {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def rep(**overrides: Any) -> Rep:
    fields: dict[str, Any] = {"rep_id": UUID(int=1), "name": "Ann", "email": "ann@example.com"}
    return Rep(**(fields | overrides))


@pytest.mark.parametrize(
    ("overrides", "now", "expected"),
    [
        ({}, MONDAY_10_UTC, None),
        ({"active": False}, MONDAY_10_UTC, "inactive"),
        (
            {"timezone": "Europe/Berlin", "working_hours": OFFICE},
            datetime(2025, 3, 3, 18, 5, tzinfo=UTC),
            "outside working hours (Europe/Berlin 19:05)",
        ),
        (
            {"timezone": "Europe/Berlin", "working_hours": OFFICE},
            datetime(2025, 3, 3, 11, 30, tzinfo=UTC),  # 12:30 in Berlin: lunch break
            "outside working hours (Europe/Berlin 12:30)",
        ),
        (
            {"timezone": "America/New_York", "working_hours": OFFICE},
            MONDAY_10_UTC,  # 05:00 in New York
            "outside working hours (America/New_York 05:00)",
        ),
        (
            {"timezone": "America/New_York", "working_hours": OFFICE},
            datetime(2025, 3, 3, 20, 59, tzinfo=UTC),  # 15:59 in New York
            None,
        ),
        ({"max_open_leads": 5, "open_leads": 5}, MONDAY_10_UTC, "at capacity 5/5"),
        ({"max_open_leads": 5, "open_leads": 4}, MONDAY_10_UTC, None),
        ({"max_open_leads": 0}, MONDAY_10_UTC, "at capacity 0/0"),
        ({"max_open_leads": None, "open_leads": 10_000}, MONDAY_10_UTC, None),
        ({"working_hours": {}}, MONDAY_10_UTC, None),
        (
            {"working_hours": {"sat": ["00:00-24:00"]}},
            MONDAY_10_UTC,
            "outside working hours (UTC 10:00)",
        ),
    ],
)
def test_unavailable_reason_says_why_a_rep_cannot_take_a_lead(
    overrides: dict[str, Any], now: datetime, expected: str | None
) -> None:
    assert unavailable_reason(rep(**overrides), now) == expected


def test_out_of_office_is_half_open_and_names_its_end() -> None:
    start, end = MONDAY_10_UTC, MONDAY_10_UTC + timedelta(days=5)
    away = rep(out_of_office=[(start, end)])
    assert unavailable_reason(away, start) == f"out_of_office until {end.isoformat()}"
    assert unavailable_reason(away, end - timedelta(seconds=1)) is not None
    assert unavailable_reason(away, end) is None
    assert unavailable_reason(away, start - timedelta(seconds=1)) is None


def test_overlapping_out_of_office_periods_report_the_latest_end() -> None:
    end = MONDAY_10_UTC + timedelta(days=9)
    away = rep(
        out_of_office=[
            (MONDAY_10_UTC - timedelta(days=1), MONDAY_10_UTC + timedelta(days=1)),
            (MONDAY_10_UTC - timedelta(hours=1), end),
        ]
    )
    assert unavailable_reason(away, MONDAY_10_UTC) == f"out_of_office until {end.isoformat()}"


def test_working_hours_follow_daylight_saving_time_in_the_reps_timezone() -> None:
    berlin = rep(timezone="Europe/Berlin", working_hours={"mon": ["09:00-10:00"]})
    # 08:30 UTC is 09:30 in winter (UTC+1) but 10:30 in summer (UTC+2).
    assert unavailable_reason(berlin, datetime(2025, 3, 3, 8, 30, tzinfo=UTC)) is None
    summer = datetime(2025, 6, 2, 8, 30, tzinfo=UTC)
    assert unavailable_reason(berlin, summer) == "outside working hours (Europe/Berlin 10:30)"


def test_an_inactive_rep_is_reported_inactive_before_anything_else() -> None:
    everything_wrong = rep(
        active=False,
        max_open_leads=0,
        working_hours={"sun": ["09:00-10:00"]},
        out_of_office=[(MONDAY_10_UTC, MONDAY_10_UTC + timedelta(hours=1))],
    )
    assert unavailable_reason(everything_wrong, MONDAY_10_UTC) == "inactive"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"monday": ["09:00-17:00"]}, "unknown weekday 'monday'"),
        ({"mon": "09:00-17:00"}, "expected a list"),
        ({"mon": ["9-17"]}, "working_hours['mon'][0]: '9-17' is not an 'HH:MM-HH:MM' range"),
        ({"tue": ["09:00-12:00", "13:00-25:00"]}, "working_hours['tue'][1]"),
        ({"fri": ["22:00-06:00"]}, "split an overnight shift"),
        ({"fri": ["24:00-24:00"]}, "past 24:00"),
        ({"fri": ["09:60-10:00"]}, "not an 'HH:MM-HH:MM' range"),
    ],
)
def test_bad_working_hours_are_refused_with_the_entry_named(
    doc: dict[str, Any], message: str
) -> None:
    with pytest.raises(WorkingHoursError, match=message.replace("[", r"\[").replace("(", r"\(")):
        WeeklyHours.parse(doc)


def test_a_rep_with_bad_working_hours_fails_when_it_is_built() -> None:
    with pytest.raises(WorkingHoursError):
        rep(working_hours={"mon": ["nine to five"]})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown IANA timezone 'Mars/Olympus'"),
        ({"timezone": "America"}, "unknown IANA timezone 'America'"),  # a tzdata folder
        ({"weight": -1}, "weight must be >= 0"),
        ({"max_open_leads": -1}, "max_open_leads must be >= 0"),
        ({"segments": ["huge"]}, "unknown segments"),
        ({"territories": ["UK"]}, "did you mean GB"),
        (
            {"out_of_office": [(datetime(2025, 1, 2), datetime(2025, 1, 3))]},
            "timezone-aware",
        ),
        ({"out_of_office": [(MONDAY_10_UTC, MONDAY_10_UTC)]}, "end must be after start"),
    ],
)
def test_an_invalid_rep_is_refused_with_a_clear_error(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rep(**overrides)


def test_a_naive_now_is_refused_rather_than_read_as_server_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        unavailable_reason(rep(), datetime(2025, 3, 3, 10, 0))


def test_24_00_closes_the_day_and_midnight_opens_the_next() -> None:
    night = rep(working_hours={"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]})
    assert unavailable_reason(night, datetime(2025, 3, 3, 23, 59, tzinfo=UTC)) is None
    assert unavailable_reason(night, datetime(2025, 3, 4, 0, 0, tzinfo=UTC)) is None
    assert unavailable_reason(night, datetime(2025, 3, 4, 6, 0, tzinfo=UTC)) is not None
