"""A table with a column of each type the services store, and rows that exercise every bind
processor (JSON with pydantic models inside, UUID, boolean, integer, text, bytes, an aware
non-UTC timestamp, NULLs): for the tests that compare our inserts with SQLAlchemy's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Integer, LargeBinary, MetaData, String, Table, Uuid

from leadflow.db import UtcDateTime
from leadflow.events import Factor

COLUMNS = ("id", "doc", "flag", "n", "label", "blob", "at")


def typed_table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("doc", JSON, nullable=True),
        Column("flag", Boolean, nullable=False),
        Column("n", Integer, nullable=True),
        Column("label", String(50), nullable=True),
        Column("blob", LargeBinary, nullable=True),
        Column("at", UtcDateTime(), nullable=True),
    )


def typed_rows() -> list[dict[str, Any]]:
    return [
        {
            "id": uuid.uuid4(),
            "doc": {"lead": "Ada", "factors": [Factor(name="title", points=12.5, reason="VP")]},
            "flag": True,
            "n": 3,
            "label": "tête-à-tête",
            "blob": b"\x00\xffkey",
            "at": datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))),
        },
        {"id": uuid.uuid4(), "doc": None, "flag": False, "n": None, "label": None, "blob": None,
         "at": None},
        {
            "id": uuid.uuid4(),
            "doc": [["ce_id", "x"], ["traceparent", "00-ab-cd-01"]],
            "flag": False,
            "n": -1,
            "label": "",
            "blob": b"",
            "at": datetime(2026, 1, 1, tzinfo=UTC),
        },
    ]  # fmt: skip
