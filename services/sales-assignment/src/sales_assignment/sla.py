"""When an assignment's accept SLA runs out, counted in the rep's working time: pure.

A rep with working hours is only on the clock inside them, in their own timezone, and not
inside an out-of-office period: a lead assigned Friday 17:55 with a 15-minute SLA to a rep
working 09:00-18:00 is due Monday 09:10. Ranges are wall-clock times of the rep's zone, so a
DST change shortens or lengthens only the ranges that span it. A rep without working hours
keeps a wall-clock SLA, and so does one whose hours hold no working time at all within
`HORIZON` (nothing would ever fall due otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sales_assignment.availability import WeeklyHours, WorkingHoursDoc, load_timezone

# How far ahead working time is looked for (a long leave included) before giving up.
HORIZON = timedelta(days=400)


def sla_due(
    assigned_at: datetime,
    sla: timedelta,
    working_hours: WeeklyHours | WorkingHoursDoc | None,
    timezone: ZoneInfo | str,
    out_of_office: Sequence[tuple[datetime, datetime]] = (),
) -> datetime:
    """The moment `sla` of the rep's working time after `assigned_at` has passed (UTC)."""
    if assigned_at.tzinfo is None:
        raise ValueError("assigned_at must be timezone-aware")
    start = assigned_at.astimezone(UTC)
    hours = (
        working_hours
        if isinstance(working_hours, WeeklyHours) or working_hours is None
        else WeeklyHours.parse(working_hours)
    )
    if hours is None:
        return start + sla
    zone = timezone if isinstance(timezone, ZoneInfo) else load_timezone(timezone)
    left = sla
    ooo = sorted((a.astimezone(UTC), b.astimezone(UTC)) for a, b in out_of_office)
    for begin, end in _working_spans(hours, zone, start, start + HORIZON):
        for piece_start, piece_end in _minus(max(begin, start), end, ooo):
            span = piece_end - piece_start
            if span >= left:
                return piece_start + left
            left -= span
    return start + sla


def _working_spans(
    hours: WeeklyHours, zone: ZoneInfo, start: datetime, stop: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The rep's working ranges as UTC `[begin, end)` spans, in order, from `start`'s local day."""
    day = start.astimezone(zone).date() - timedelta(days=1)  # a range may end after midnight
    while True:
        for first, last in hours.days[day.weekday()]:
            begin, end = _at(day, first, zone), _at(day, last, zone)
            if end > start:
                yield begin, end
        day += timedelta(days=1)
        if _at(day, 0, zone) > stop:
            return


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Wall-clock `minute` since midnight (24:00 = the next midnight) of `day`, in UTC."""
    # Naive arithmetic first: the offset must be the one of the resulting wall time, which
    # differs from midnight's on a DST change day (a wall time in the gap reads as before it).
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _minus(
    begin: datetime, end: datetime, holes: Sequence[tuple[datetime, datetime]]
) -> Iterator[tuple[datetime, datetime]]:
    """`[begin, end)` without the out-of-office periods (sorted by start)."""
    for hole_start, hole_end in holes:
        if hole_end <= begin or hole_start >= end:
            continue
        if hole_start > begin:
            yield begin, hole_start
        begin = max(begin, hole_end)
        if begin >= end:
            return
    if begin < end:
        yield begin, end
