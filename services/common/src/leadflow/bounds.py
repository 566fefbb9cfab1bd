"""Query types for dates, months and date-times a service can store and add days to.

Python's own range (years 1–9999) is wider than arithmetic on it allows: `0001-01-01T00:00+01:00`
has no UTC value and `9999-12-31` has no next day, so both would end in an OverflowError (500).
Years outside MIN_YEAR–MAX_YEAR are refused where the query is read: a 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator

MIN_YEAR = 1970
MAX_YEAR = 9998
RANGE = f"years {MIN_YEAR}–{MAX_YEAR}"


def year_in_range(year: int) -> None:
    """Raise ValueError (the validators' way to refuse) for a year outside the range."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"must be within {RANGE}")


def utc_in_range(value: datetime) -> datetime:
    """The instant in UTC (no zone: read as UTC), if its year is in range."""
    try:
        moment = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except OverflowError:
        raise ValueError(f"must be within {RANGE}") from None
    year_in_range(moment.year)
    return moment


def day_in_range(value: date) -> date:
    """The date, if its year is in range."""
    year_in_range(value.year)
    return value


def month_in_range(value: str) -> str:
    """A `YYYY-MM` whose year is in range."""
    year_in_range(int(value[:4]))
    return value


BoundedDateTime = Annotated[datetime, AfterValidator(utc_in_range)]
BoundedDate = Annotated[date, AfterValidator(day_in_range)]
