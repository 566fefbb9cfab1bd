"""The funnel as CSV: the same groups and numbers as the JSON answer, one row per group."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from feedback.schemas import FunnelGroup

COLUMNS: tuple[str, ...] = tuple(FunnelGroup.model_fields)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # rejection_reasons: code=count;…
        return _cell(";".join(f"{k}={v}" for k, v in value.items()))
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    return str(value)


def funnel_csv(groups: Sequence[FunnelGroup]) -> str:
    """A header row (the JSON field names), then each group; empty cells for null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for group in groups:
        data = group.model_dump()
        writer.writerow([_cell(data[c]) for c in COLUMNS])
    return out.getvalue()
