"""feedback's SQL for folding events into the journey and the facts.

These run in the fold, a step of the commit (`handlers.fold_events`, through
`AsyncSession.run_sync`), and cost the same few round trips however many events a
transaction folds: lock the leads (PostgreSQL), one read (their facts rows and which events
the journey holds); the fold stages the journey and facts rows, which the unit of work
inserts with its other rows (`leadflow.bulk`). Statements are built once, so each is
compiled once.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import Table, bindparam, null, select, union_all, update
from sqlalchemy.orm import Session

from feedback import domain
from feedback.fold import COLUMNS, Facts
from feedback.models import JourneyEvent, LeadFacts, Outcome
from feedback.repo import lock_key
from leadflow.sql import any_of, lock_keys_sync

JOURNEY_COLUMNS = ("lead_id", "ce_id", "ce_type", "occurred_at", "data")

_JOURNEY = cast(Table, JourneyEvent.__table__)
_FACTS = cast(Table, LeadFacts.__table__)
_OUTCOMES = cast(Table, Outcome.__table__)


def _read() -> Any:
    """The leads' facts rows, then the ids of the events the journey holds (last column)."""
    facts = select(*(_FACTS.c[n] for n in COLUMNS), null().label("ce_id"))
    seen = select(*(null() for _ in COLUMNS), _JOURNEY.c.ce_id)
    return union_all(
        facts.where(any_of(_FACTS.c.lead_id, "lead_ids")),
        seen.where(any_of(_JOURNEY.c.ce_id, "ce_ids")),
    )


_READ = _read()
_JOURNEY_OF = select(_JOURNEY.c.id, _JOURNEY.c.data).where(_JOURNEY.c.lead_id == bindparam("lead"))
_SET_JOURNEY_DATA = (
    update(_JOURNEY).where(_JOURNEY.c.id == bindparam("row_id")).values(data=bindparam("data"))
)
_FORGET_REASONS = (
    update(_OUTCOMES).where(_OUTCOMES.c.lead_id == bindparam("lead")).values(reason=None)
)


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
