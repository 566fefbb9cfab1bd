"""The dashboard pages' days (pure): a `YYYY-MM-DD` read, a window of days checked, the
default window, and the instants a window spans."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from leadflow.bounds import day_in_range

DEFAULT_DAYS = 30
MAX_DAYS = 366


def parse_day(text: str | None, name: str, errors: list[str]) -> date | None:
    """A `YYYY-MM-DD` query value, or None (with what was wrong added to `errors`)."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(f"{name}: not a date (YYYY-MM-DD)")
        return None
    try:
        return day_in_range(day)  # the day after 9999-12-31 would overflow
    except ValueError as exc:
        errors.append(f"{name}: {exc}")
        return None


def window_error(first: date, last: date) -> str | None:
    """What is wrong with the window from `first` to `last` (both included), if anything."""
    if last < first:
        return "to: must not be before from"
    if (last - first).days + 1 > MAX_DAYS:
        return f"to: at most {MAX_DAYS} days after from"
    return None


def default_window(today: date) -> tuple[date, date]:
    """The last 30 days, today included."""
    return today - timedelta(days=DEFAULT_DAYS - 1), today


def period(from_: str | None, to: str | None, today: date) -> tuple[date, date, list[str]]:
    """The days asked for (both included; the last 30 by default) and what was wrong (then
    the default window)."""
    errors: list[str] = []
    first, last = parse_day(from_, "from", errors), parse_day(to, "to", errors)
    last = last or today
    first = first or default_window(last)[0]
    if (wrong := window_error(first, last)) is not None:
        errors.append(wrong)
    if errors:
        first, last = default_window(today)
    return first, last, errors


def start_of(day: date) -> datetime:
    """The first instant of a day (UTC midnight)."""
    return datetime.combine(day, time(), UTC)


def end_of(day: date) -> datetime:
    """The first instant after a day: a window's `to` takes its last day whole."""
    return start_of(day + timedelta(days=1))
