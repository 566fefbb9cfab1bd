"""UtcDateTime on SQLite writes what SQLAlchemy's DATETIME writes for the UTC instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from leadflow.db import UtcDateTime

DIALECT = sqlite.dialect()
THEIRS = DateTime(timezone=True).dialect_impl(DIALECT).bind_processor(DIALECT)
OURS = UtcDateTime().dialect_impl(DIALECT).bind_processor(DIALECT)

zones = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30), timezones=zones
)


@given(instants)
def test_writes_the_text_sqlalchemy_writes_for_the_same_utc_instant(value: datetime) -> None:
    assert THEIRS is not None
    assert OURS is not None
    assert OURS(value) == THEIRS(value.astimezone(UTC))


def test_writes_null_and_refuses_a_naive_datetime() -> None:
    assert OURS is not None
    assert OURS(None) is None
    with pytest.raises(ValueError, match="naive"):
        OURS(datetime(2025, 1, 1))
