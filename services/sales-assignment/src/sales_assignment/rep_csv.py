"""Reps from a CSV file: pure parsing and validation, one error per bad cell, per row.

The first line names the columns, in any order; `name` and `email` are required, every
other column is optional and an empty cell takes the API's default:

| column           | example                              | empty cell means        |
|------------------|--------------------------------------|-------------------------|
| `name`           | `Ann Seller`                         | (required)              |
| `email`          | `ann@seller.example`                 | (required)              |
| `active`         | `true` / `false` (also yes/no, 1/0)  | true                    |
| `weight`         | `2` (0-1000; 0 = out of round robin) | 1                       |
| `max_open_leads` | `25`                                 | no limit                |
| `territories`    | `EMEA;US` (ISO codes, EMEA/NA/LATAM/APAC) | everywhere         |
| `segments`       | `smb;mid_market` (and `enterprise`)  | every segment           |
| `timezone`       | `Europe/Berlin` (IANA)               | UTC                     |
| `working_hours`  | `mon-fri 09:00-17:00`                | always available        |

Lists are separated by `;`. `working_hours` is either groups `DAYS RANGES` separated by
`;`, DAYS a day (`mon`), a span (`mon-fri`) or a comma list (`mon,wed`), RANGES
comma-separated `HH:MM-HH:MM` (e.g. `mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00`),
or the API's JSON object (`{"mon": ["09:00-17:00"]}`). The file is UTF-8 (a BOM is fine).

Rows are numbered as a spreadsheet shows them: the header is row 1, the first rep row 2.
An error reads `row 7: email: not an email address`. Two rows with the same email are an
error too (`row 9: email: same email as row 4`).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sales_assignment.availability import WEEKDAYS
from sales_assignment.schemas import RepIn

COLUMNS = (
    "name",
    "email",
    "active",
    "weight",
    "max_open_leads",
    "territories",
    "segments",
    "timezone",
    "working_hours",
)
REQUIRED = ("name", "email")
LIST_COLUMNS = ("territories", "segments")
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}

# Every column at most twice over: room for a few unknown ones, each then named in an error.
_MAX_COLUMNS = 2 * len(COLUMNS) + 2


@dataclass(frozen=True, slots=True)
class RowError:
    """What is wrong with one cell (or the header: row 1)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.column}: {self.message}"


@dataclass
class ParsedReps:
    """The valid reps with their row numbers, and every error found."""

    reps: list[tuple[int, RepIn]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_reps_csv(text: str) -> ParsedReps:
    """Read reps from CSV text; never raises for bad input, reports it in `errors`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        return _parse(reader)
    except csv.Error as exc:  # e.g. a cell over the csv module's field limit (128 KiB)
        return ParsedReps(
            errors=[RowError(max(reader.line_num, 1), "row", f"not a CSV file: {exc}")]
        )


def _parse(reader: Any) -> ParsedReps:
    result = ParsedReps()
    header = [h.strip().lower() for h in next(reader, [])]
    if len(header) > _MAX_COLUMNS:  # one error, not one per unknown column
        result.errors.append(RowError(1, "row", f"{len(header)} columns, at most {_MAX_COLUMNS}"))
        return result
    result.errors.extend(_header_errors(header))
    if result.errors:
        return result
    seen: dict[str, int] = {}
    for number, cells in _rows(reader):
        if len(cells) > len(header):
            result.errors.append(
                RowError(number, "row", f"{len(cells)} cells but {len(header)} columns")
            )
            continue
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        rep, errors = parse_row(number, row)
        result.errors.extend(errors)
        if rep is None:
            continue
        if rep.email in seen:
            result.errors.append(RowError(number, "email", f"same email as row {seen[rep.email]}"))
            continue
        seen[rep.email] = number
        result.reps.append((number, rep))
    if not result.reps and not result.errors:
        result.errors.append(RowError(2, "row", "no reps in the file"))
    return result


def parse_row(number: int, row: dict[str, str]) -> tuple[RepIn | None, list[RowError]]:
    """One data row (column → cell text) as a RepIn, or the errors of its cells."""
    doc: dict[str, Any] = {}
    errors: list[RowError] = []
    for column, text in row.items():
        if not text:
            if column in REQUIRED:
                errors.append(RowError(number, column, "required"))
            continue
        try:
            doc[column] = _cell(column, text)
        except ValueError as exc:
            errors.append(RowError(number, column, str(exc)))
    try:
        rep = RepIn.model_validate(doc)
    except ValidationError as exc:
        # Every bad cell at once: the schema's findings beside the cells that did not parse.
        failed = {e.column for e in errors}
        for err in exc.errors():
            column = str(err["loc"][0]) if err["loc"] else "row"
            if column not in failed:
                errors.append(RowError(number, column, _message(err)))
        return None, errors
    return (None, errors) if errors else (rep, [])


def parse_working_hours(text: str) -> dict[str, list[str]]:
    """`mon-fri 09:00-17:00; sat 10:00-14:00` (or a JSON object) as the API's mapping."""
    if text.lstrip()[:1] in ("{", "["):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg}") from None
        if not isinstance(doc, dict):
            raise ValueError("JSON working hours must be an object")
        return doc
    hours: dict[str, list[str]] = {}
    for group in filter(None, (g.strip() for g in text.split(";"))):
        days, _, ranges = group.partition(" ")
        spans = [r.strip() for r in ranges.split(",") if r.strip()]
        if not spans:
            raise ValueError(f"{group!r}: expected 'DAYS HH:MM-HH:MM', e.g. 'mon-fri 09:00-17:00'")
        for day in _days(days.strip().lower()):
            hours.setdefault(day, []).extend(spans)
    return hours


def _days(text: str) -> Iterator[str]:
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        for day in (first, last) if dash else (first,):
            if day not in WEEKDAYS:
                raise ValueError(f"unknown day {day!r} (use {', '.join(WEEKDAYS)})")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last if dash else first)
        if end < start:
            raise ValueError(f"day span {part.strip()!r} runs backwards")
        yield from WEEKDAYS[start : end + 1]


def _cell(column: str, text: str) -> object:
    if column == "active":
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{text!r} is not true or false")
    if column in ("weight", "max_open_leads"):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if column in LIST_COLUMNS:
        return [item.strip() for item in text.split(";") if item.strip()]
    if column == "working_hours":
        return parse_working_hours(text)
    return text


def _header_errors(header: list[str]) -> list[RowError]:
    errors = [
        RowError(1, name or "(empty)", f"unknown column (use {', '.join(COLUMNS)})")
        for name in header
        if name not in COLUMNS
    ]
    errors += [RowError(1, name, "column appears twice") for name in _twice(header)]
    errors += [
        RowError(1, name, "required column missing") for name in REQUIRED if name not in header
    ]
    return errors


def _twice(header: list[str]) -> list[str]:
    return sorted(name for name, n in Counter(header).items() if n > 1)


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    for number, cells in enumerate(reader, start=2):
        if any(c.strip() for c in cells):  # blank lines are skipped, not errors
            yield number, cells


def _message(err: Any) -> str:
    text = str(err["msg"]).removeprefix("Value error, ")
    rest = ".".join(str(p) for p in err["loc"][1:])
    return f"{rest}: {text}" if rest else text
