"""feedback's SQL for folding events into the journey and the facts.

These run inside the commit (see `handlers.record_events`), on the synchronous `Session`
SQLAlchemy hands to its commit hooks, and cost the same few round trips however many events
a transaction folds: lock the leads (PostgreSQL), one read (their facts rows and which events
the journey holds), one write (PostgreSQL: journey and facts rows as one array per column,
unnested by the server in one statement, no per-row work in SQLAlchemy; SQLite: one
executemany per table). Statements are built once, so each is compiled once.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import Table, Text, bindparam, insert, null, select, text, union_all, update
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from feedback import domain
from feedback.fold import COLUMNS, Facts
from feedback.models import JourneyEvent, LeadFacts, Outcome
from feedback.repo import lock_key
from leadflow.db import UtcDateTime
from leadflow.sql import any_of, lock_keys_sync

JOURNEY_COLUMNS = ("lead_id", "ce_id", "ce_type", "occurred_at", "data")

_JOURNEY = cast(Table, JourneyEvent.__table__)
_FACTS = cast(Table, LeadFacts.__table__)
_OUTCOMES = cast(Table, Outcome.__table__)
_PG = asyncpg.dialect()  # type: ignore[no-untyped-call]


def _read() -> Any:
    """The leads' facts rows, then the ids of the events the journey holds (last column)."""
    facts = select(*(_FACTS.c[n] for n in COLUMNS), null().label("ce_id"))
    seen = select(*(null() for _ in COLUMNS), _JOURNEY.c.ce_id)
    return union_all(
        facts.where(any_of(_FACTS.c.lead_id, "lead_ids")),
        seen.where(any_of(_JOURNEY.c.ce_id, "ce_ids")),
    )


def _unnest(table: Table, names: Sequence[str], prefix: str = "") -> str:
    """PostgreSQL: insert rows given as one array parameter per column, in their order."""
    arrays = ", ".join(
        f"CAST(:{prefix}{n} AS {table.c[n].type.compile(dialect=_PG)}[])" for n in names
    )
    columns = ", ".join(names)
    # Names and types come from the table's definition, never from input.
    return (
        f"INSERT INTO {table.name} ({columns}) SELECT {columns}"  # noqa: S608
        f" FROM unnest({arrays}) WITH ORDINALITY AS r ({columns}, n) ORDER BY n"
    )


_READ = _read()
_UPDATED = [name for name in COLUMNS if name != "lead_id"]
_TIMES = ["j_occurred_at"] + [n for n in COLUMNS if isinstance(_FACTS.c[n].type, UtcDateTime)]
# PostgreSQL: the journey rows (parameters `j_…`) and the facts rows in one statement.
_WRITE_PG = text(
    f"WITH journey_rows AS ({_unnest(_JOURNEY, JOURNEY_COLUMNS, 'j_')}) "
    + _unnest(_FACTS, COLUMNS)
    + " ON CONFLICT (lead_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
)
_SAVE_FACTS = sqlite_insert(_FACTS).on_conflict_do_update(
    index_elements=[_FACTS.c.lead_id], set_={name: text(f"excluded.{name}") for name in _UPDATED}
)
# `data` comes as JSON text (see `write`), so it is bound as text.
_ADD_JOURNEY = insert(_JOURNEY).values(
    {n: bindparam(n, type_=Text() if n == "data" else _JOURNEY.c[n].type) for n in JOURNEY_COLUMNS}
)
_JOURNEY_OF = select(_JOURNEY.c.id, _JOURNEY.c.data).where(_JOURNEY.c.lead_id == bindparam("lead"))
_SET_JOURNEY_DATA = (
    update(_JOURNEY).where(_JOURNEY.c.id == bindparam("row_id")).values(data=bindparam("data"))
)
_FORGET_REASONS = (
    update(_OUTCOMES).where(_OUTCOMES.c.lead_id == bindparam("lead")).values(reason=None)
)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _arrays(
    names: Sequence[str], rows: Sequence[Sequence[Any]], prefix: str = ""
) -> dict[str, list[Any]]:
    """Rows as one list per column (empty lists for no rows)."""
    columns = zip(*rows, strict=True) if rows else ((),) * len(names)
    return {prefix + name: list(values) for name, values in zip(names, columns, strict=True)}


def lock_leads(session: Session, lead_ids: Collection[uuid.UUID]) -> None:
    """`repo.lock_lead` for many leads in one round trip, in a fixed order (no deadlocks)."""
    lock_keys_sync(session, [lock_key(i) for i in lead_ids])


def read(
    session: Session, lead_ids: Collection[uuid.UUID], ce_ids: Collection[str]
) -> tuple[dict[uuid.UUID, Facts], set[str]]:
    """These leads' facts rows (the ones that exist), and which events the journey holds."""
    params = {"lead_ids": list(lead_ids), "ce_ids": list(ce_ids)}
    facts: dict[uuid.UUID, Facts] = {}
    seen: set[str] = set()
    for *row, ce_id in session.execute(_READ, params):
        if ce_id is None:
            facts[row[0]] = Facts(*row)
        else:
            seen.add(ce_id)
    return facts, seen


def write(session: Session, journey: Sequence[tuple[Any, ...]], facts: Sequence[Facts]) -> None:
    """Append journey rows (`JOURNEY_COLUMNS`' values, `data` a JSON-able dict), in this
    order, and write these facts rows, new or changed."""
    if not journey and not facts:
        return
    journey = [(*row[:4], to_json(row[4]).decode()) for row in journey]
    if _postgres(session):
        params = _arrays(JOURNEY_COLUMNS, journey, "j_")
        params.update(_arrays(COLUMNS, [f.values() for f in facts]))
        _refuse_naive(params)
        session.execute(_WRITE_PG, params)
        return
    if journey:
        rows = [dict(zip(JOURNEY_COLUMNS, row, strict=True)) for row in journey]
        session.execute(_ADD_JOURNEY, rows)
    if facts:
        session.execute(_SAVE_FACTS, [f.row() for f in facts])


def _refuse_naive(params: dict[str, list[Any]]) -> None:
    """What `UtcDateTime` does for statements it binds: a naive time is an error."""
    for name in _TIMES:
        if any(t is not None and t.tzinfo is None for t in params[name]):
            raise ValueError(f"naive datetime in {name}: pass an aware one (UTC)")


def erase(session: Session, lead_id: uuid.UUID) -> None:
    """Strip what identifies the person from the lead's journey and its outcome reasons
    (the outbox is emptied by the kernel's `LogEraser`, as in every service)."""
    rows = session.execute(_JOURNEY_OF, {"lead": lead_id}).all()
    if rows:
        session.execute(
            _SET_JOURNEY_DATA,
            [{"row_id": row_id, "data": domain.erased_data(data)} for row_id, data in rows],
        )
    session.execute(_FORGET_REASONS, {"lead": lead_id})
