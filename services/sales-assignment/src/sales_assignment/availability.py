"""When a salesperson can take a lead: pure checks over a rep and an injected `now`.

A rep is available when they are active, not inside an out-of-office period `[start, end)`,
inside their working hours in their own IANA timezone, and below `max_open_leads`
(`None` = unlimited, `0` = takes nothing, e.g. a holiday). `unavailable_reason` says why not
in words an operator reads in the assignment reason.

Working hours map a weekday (`"mon"` … `"sun"`) to `"HH:MM-HH:MM"` ranges, end exclusive,
`"24:00"` allowed as an end. No mapping or an empty one means always available; once any day
is given, days not listed (or listed with no ranges) are days off. An overnight shift is two
ranges on two days (`"22:00-24:00"` on mon, `"00:00-06:00"` on tue), so every range reads
the same way in every timezone, across DST changes too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WorkingHoursDoc = Mapping[str, Sequence[str]]

_RANGE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class WorkingHoursError(ValueError):
    """A working-hours document that cannot be read; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Parsed working hours: per weekday (0 = Monday) ranges in minutes since midnight."""

    days: tuple[tuple[tuple[int, int], ...], ...]

    @classmethod
    def parse(cls, doc: WorkingHoursDoc | None) -> WeeklyHours | None:
        """Parse and validate a working-hours mapping; None means always available."""
        if not doc:
            return None
        if not isinstance(doc, Mapping):
            raise WorkingHoursError("working_hours must map weekday names to lists of ranges")
        days: list[tuple[tuple[int, int], ...]] = [()] * 7
        for key, ranges in doc.items():
            day = str(key).strip().lower()
            if day not in WEEKDAYS:
                raise WorkingHoursError(
                    f"working_hours: unknown weekday {key!r} (use {', '.join(WEEKDAYS)})"
                )
            # A bare string is a sequence too; reading it char by char would give nonsense.
            if isinstance(ranges, str) or not isinstance(ranges, Sequence):
                raise WorkingHoursError(
                    f"working_hours[{key!r}]: expected a list of 'HH:MM-HH:MM' ranges"
                )
            days[WEEKDAYS.index(day)] = tuple(
                _parse_range(f"working_hours[{key!r}][{i}]", text) for i, text in enumerate(ranges)
            )
        return cls(days=tuple(days))

    def contains(self, local: datetime) -> bool:
        """Whether a wall-clock time (already in the rep's timezone) is inside working hours."""
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.days[local.weekday()])


def _parse_range(where: str, text: object) -> tuple[int, int]:
    match = _RANGE.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise WorkingHoursError(f"{where}: {text!r} is not an 'HH:MM-HH:MM' range")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= 24 * 60 or end > 24 * 60:
        raise WorkingHoursError(f"{where}: {text!r} is past 24:00")
    if end <= start:
        raise WorkingHoursError(
            f"{where}: {text!r} ends before it starts; split an overnight shift over two days"
        )
    return start, end


def load_timezone(name: str) -> ZoneInfo:
    """The IANA timezone of that name, or a ValueError naming it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a folder
        raise ValueError(f"unknown IANA timezone {name!r}") from exc


def check_out_of_office(periods: Sequence[tuple[datetime, datetime]]) -> None:
    """Raise ValueError unless every period is a timezone-aware `[start, end)` with start < end."""
    for i, (start, end) in enumerate(periods):
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError(f"out_of_office[{i}]: start and end must be timezone-aware")
        if end <= start:
            raise ValueError(f"out_of_office[{i}]: end must be after start")


class RepState(Protocol):
    """What the checks read of a rep: `facts.Rep`, which is parsed with this module's types."""

    @property
    def active(self) -> bool: ...
    @property
    def out_of_office(self) -> Sequence[tuple[datetime, datetime]]: ...
    @property
    def hours(self) -> WeeklyHours | None: ...
    @property
    def zone(self) -> ZoneInfo: ...
    @property
    def timezone(self) -> str: ...
    @property
    def max_open_leads(self) -> int | None: ...
    @property
    def open_leads(self) -> int: ...


def unavailable_reason(rep: RepState, now: datetime) -> str | None:
    """Why the rep cannot take a lead at `now`, or None when they can."""
    if now.tzinfo is None:
        # A naive `now` would silently be read as the server's local time.
        raise ValueError("now must be timezone-aware")
    if not rep.active:
        return "inactive"
    if rep.out_of_office:  # most reps have none: no generator to build per decision
        ooo = rep.out_of_office
        ooo_until = max((end for start, end in ooo if start <= now < end), default=None)
        if ooo_until is not None:
            return f"out_of_office until {ooo_until.isoformat()}"
    hours = rep.hours
    if hours is not None:
        local = now.astimezone(rep.zone)
        if not hours.contains(local):
            return f"outside working hours ({rep.timezone} {local:%H:%M})"
    if rep.max_open_leads is not None and rep.open_leads >= rep.max_open_leads:
        return f"at capacity {rep.open_leads}/{rep.max_open_leads}"
    return None


def is_available(rep: RepState, now: datetime) -> bool:
    """Whether the rep can take a lead at `now`."""
    return unavailable_reason(rep, now) is None
