"""The accept SLA counts only the rep's working time, in the rep's timezone (`sla.sla_due`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sales_assignment.sla import sla_due

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
WEEKDAYS_9_TO_18 = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
WITH_LUNCH = {d: ["09:00-12:00", "13:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
EVERY_SUNDAY = {"sun": ["00:00-24:00"]}
OVERNIGHT = {"mon": ["22:00-24:00"], "tue": ["00:00-06:00"]}


def at(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


# 2025-03-07 is a Friday; Europe's clocks go forward 2025-03-30 and back 2025-10-26,
# New York's forward 2025-03-09.
CASES: list[Any] = [
    pytest.param(
        at(BERLIN, 2025, 3, 7, 17, 55), 15, WEEKDAYS_9_TO_18, BERLIN, [],
        at(BERLIN, 2025, 3, 10, 9, 10),
        id="a lead assigned friday 17:55 with a 15-minute sla is due monday 9:10",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 7, 17, 55), 15, None, BERLIN, [],
        at(BERLIN, 2025, 3, 7, 18, 10),
        id="a rep without working hours keeps a wall-clock sla",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 10, 10, 0), 15, WEEKDAYS_9_TO_18, BERLIN, [],
        at(BERLIN, 2025, 3, 10, 10, 15),
        id="a lead assigned well inside working hours is due the same day",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 10, 7, 0), 15, WEEKDAYS_9_TO_18, BERLIN, [],
        at(BERLIN, 2025, 3, 10, 9, 15),
        id="a lead assigned before the day starts counts from its start",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 8, 10, 0), 15, WEEKDAYS_9_TO_18, BERLIN, [],
        at(BERLIN, 2025, 3, 10, 9, 15),
        id="a lead assigned on a day off counts from the next working day",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 10, 11, 55), 15, WITH_LUNCH, BERLIN, [],
        at(BERLIN, 2025, 3, 10, 13, 10),
        id="the lunch break is not counted",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 7, 17, 55), 15, WEEKDAYS_9_TO_18, BERLIN,
        [(at(BERLIN, 2025, 3, 10, 0, 0), at(BERLIN, 2025, 3, 11, 0, 0))],
        at(BERLIN, 2025, 3, 11, 9, 10),
        id="a day out of office is not counted",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 10, 9, 0), 60, WEEKDAYS_9_TO_18, BERLIN,
        [(at(BERLIN, 2025, 3, 10, 9, 20), at(BERLIN, 2025, 3, 10, 9, 50))],
        at(BERLIN, 2025, 3, 10, 10, 30),
        id="half an hour out of office inside the day is not counted",
    ),
    pytest.param(
        at(NEW_YORK, 2025, 3, 7, 17, 55), 15, WEEKDAYS_9_TO_18, NEW_YORK, [],
        at(NEW_YORK, 2025, 3, 10, 9, 10),
        id="over the spring-forward weekend the day still starts at 9:00 local time",
    ),
    pytest.param(
        at(BERLIN, 2025, 3, 30, 0, 0), 23 * 60, EVERY_SUNDAY, BERLIN, [],
        at(BERLIN, 2025, 3, 31, 0, 0),
        id="the day the clocks go forward holds only 23 working hours",
    ),
    pytest.param(
        at(BERLIN, 2025, 10, 26, 0, 0), 25 * 60, EVERY_SUNDAY, BERLIN, [],
        at(BERLIN, 2025, 10, 27, 0, 0),
        id="the day the clocks go back holds 25 working hours",
    ),
    pytest.param(
        at(UTC_ZONE, 2025, 3, 10, 23, 50), 30, OVERNIGHT, UTC_ZONE, [],
        at(UTC_ZONE, 2025, 3, 11, 0, 20),
        id="an overnight shift split over two days counts on past midnight",
    ),
    pytest.param(
        at(UTC_ZONE, 2025, 3, 10, 10, 0), 15, {"mon": []}, UTC_ZONE, [],
        at(UTC_ZONE, 2025, 3, 10, 10, 15),
        id="hours without any working time fall back to a wall-clock sla",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("assigned_at", "minutes", "hours", "zone", "out_of_office", "due"), CASES)
def test_sla_due(
    assigned_at: datetime,
    minutes: int,
    hours: dict[str, list[str]] | None,
    zone: ZoneInfo,
    out_of_office: list[tuple[datetime, datetime]],
    due: datetime,
) -> None:
    got = sla_due(assigned_at, timedelta(minutes=minutes), hours, zone, out_of_office)
    assert got == due
    assert got.utcoffset() == timedelta(0)


def test_a_naive_assignment_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sla_due(datetime(2025, 3, 7, 17, 55), timedelta(minutes=15), None, "UTC")
