"""Migration 0012 on leads folded before it, on SQLite and PostgreSQL: each lead's latest
assignment by the fold's rule, and whether a rejection closed it, in a few set-based
statements whatever the number of leads (not one UPDATE per lead under the migration lock)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from feedback_events import RITA, SAM, at
from sqlalchemy.ext.asyncio import create_async_engine

from feedback.app import MIGRATIONS
from feedback.models import LeadFacts
from leadflow.events import LeadAssigned, LeadOutcome, RepRef
from leadflow.migrations import upgrade

pytestmark = pytest.mark.postgres

TS = sa.DateTime(timezone=True)


def table(name: str, **columns: Any) -> sa.TableClause:
    """A table as release 0011 had it, with the columns these tests write."""
    return sa.table(name, *(sa.column(column, kind) for column, kind in columns.items()))


ID, TEXT, FLAG = sa.Uuid(), sa.String(), sa.Boolean()
FACTS = table("lead_facts", lead_id=ID, touches=sa.Integer(), assigned_at=TS,
              assignment_attempt=sa.Integer(), rep_id=ID, rep_name=TEXT, rejected_at=TS,
              recycled=FLAG)  # fmt: skip
JOURNEY = table("journey", lead_id=ID, ce_id=TEXT, ce_type=TEXT, occurred_at=TS, data=sa.JSON())
OUTCOMES = table("outcomes", outcome_id=ID, lead_id=ID, stage=TEXT, occurred_at=TS,
                 external_scope=TEXT, reopen=FLAG, recycle=FLAG, ce_id=TEXT,
                 created_at=TS)  # fmt: skip
TOM = RepRef(rep_id=uuid.UUID(int=3), name="Tom Rep", email="tom@seller.example")
SKEWED, CLOSED, RECYCLED = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
AHEAD, REROUTED = uuid.uuid4(), uuid.uuid4()
MORE = 40  # leads with one assignment each: the statements must not grow with them


def fact(lead_id: uuid.UUID, rep: RepRef, attempt: int, **more: Any) -> dict[str, Any]:
    """The row the fold before 0012 kept (its rep: the highest attempt seen)."""
    return {"lead_id": lead_id, "touches": 1, "assigned_at": at(minutes=5),
            "assignment_attempt": attempt, "rep_id": rep.rep_id, "rep_name": rep.name,
            "rejected_at": None, "recycled": False} | more  # fmt: skip


def assignment(lead_id: uuid.UUID, rep: RepRef, when: Any, attempt: int) -> dict[str, Any]:
    return {"lead_id": lead_id, "ce_id": str(uuid.uuid4()), "ce_type": LeadAssigned.ce_type,
            "occurred_at": when, "data": {"rep": {"rep_id": str(rep.rep_id), "name": rep.name},
                                          "attempt": attempt}}  # fmt: skip


def rejected(lead_id: uuid.UUID, when: Any, recycle: bool) -> dict[str, Any]:
    """The journey's step for a rejection, as the fold stored it when it came back."""
    return {"lead_id": lead_id, "ce_id": str(uuid.uuid4()), "ce_type": LeadOutcome.ce_type,
            "occurred_at": when, "data": {"stage": "rejected", "recycle": recycle}}  # fmt: skip


def rejection(lead_id: uuid.UUID, created: Any, recycle: bool) -> dict[str, Any]:
    return {"outcome_id": uuid.uuid4(), "lead_id": lead_id, "stage": "rejected",
            "occurred_at": created, "external_scope": "", "reopen": False, "recycle": recycle,
            "ce_id": str(uuid.uuid4()), "created_at": created}  # fmt: skip


@contextmanager
def updates_of_lead_facts() -> Iterator[list[bool]]:
    """Each UPDATE of lead_facts any engine runs meanwhile: whether it ran per parameter set."""
    seen: list[bool] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("UPDATE LEAD_FACTS"):
            seen.append(many)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


async def upgraded(url: str, *rows: list[dict[str, Any]]) -> dict[uuid.UUID, tuple[Any, ...]]:
    """Write the facts, journey and outcomes rows at 0011, upgrade to 0012: each lead's rep
    (id, name), attempt, when that assignment was made and whether it is closed."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            for table_rows, into in zip(rows, (FACTS, JOURNEY, OUTCOMES), strict=False):
                if table_rows:
                    await conn.execute(into.insert(), table_rows)
        await asyncio.to_thread(upgrade, MIGRATIONS, url, "0012")
        async with engine.connect() as conn:
            columns = (LeadFacts.rep_id, LeadFacts.rep_name, LeadFacts.assignment_attempt,
                       LeadFacts.rep_assigned_at, LeadFacts.assignment_closed)  # fmt: skip
            result = await conn.execute(sa.select(LeadFacts.lead_id, *columns))
            return {row[0]: tuple(row[1:]) for row in result}
    finally:
        await engine.dispose()


async def test_the_upgrade_derives_each_leads_assignment_set_based(database_url: str) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0011")
    skew = timedelta(milliseconds=200)
    others = [uuid.uuid4() for _ in range(MORE)]
    facts = [
        # Never rejected: one cycle, whose re-route a clock 200 ms behind stamped early.
        fact(SKEWED, SAM, 2),
        # Rejected (not recycled) after its one assignment: closed.
        fact(CLOSED, RITA, 1, rejected_at=at(hours=1)),
        # Rejected and recycled, then its next cycle started at attempt 1 with Tom.
        fact(RECYCLED, SAM, 2, rejected_at=at(hours=1), recycled=True),
    ] + [fact(lead_id, RITA, 1) for lead_id in others]
    journey = [  # in the order the fold saw them (journey.id)
        assignment(SKEWED, RITA, at(minutes=5), 1),
        assignment(SKEWED, SAM, at(minutes=5) - skew, 2),
        assignment(CLOSED, RITA, at(minutes=5), 1),
        rejected(CLOSED, at(hours=1), False),
        assignment(RECYCLED, RITA, at(minutes=5), 1),
        assignment(RECYCLED, SAM, at(minutes=30), 2),
        rejected(RECYCLED, at(hours=1), True),
        assignment(RECYCLED, TOM, at(days=3), 1),
    ] + [assignment(lead_id, RITA, at(minutes=5), 1) for lead_id in others]
    outcomes = [rejection(CLOSED, at(hours=1), False), rejection(RECYCLED, at(hours=1), True)]
    with updates_of_lead_facts() as updates:
        got = await upgraded(database_url, facts, journey, outcomes)
    assert got[SKEWED] == (SAM.rep_id, SAM.name, 2, at(minutes=5) - skew, False)
    assert got[CLOSED] == (RITA.rep_id, RITA.name, 1, at(minutes=5), True)
    assert got[RECYCLED] == (TOM.rep_id, TOM.name, 1, at(days=3), False)
    ritas = (RITA.rep_id, RITA.name, 1, at(minutes=5), False)
    assert {got[lead_id] for lead_id in others} == {ritas}
    assert len(updates) <= 3, updates  # set-based: none per lead
    assert not any(updates), "an UPDATE ran once per lead (executemany)"


async def test_the_upgrade_orders_a_leads_steps_as_they_arrived_not_by_their_stamps(
    database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0011")
    facts = [
        fact(AHEAD, SAM, 2, rejected_at=at(hours=1, minutes=30)),
        fact(REROUTED, SAM, 2, rejected_at=at(hours=1)),
    ]
    journey = [
        # Rita's assignment stamped 11:00 by a clock ahead, Sam's re-route 10:00:01; Sam
        # rejects it (stored 10:30 by feedback's clock), which arrives after both.
        assignment(AHEAD, RITA, at(hours=2), 1),
        assignment(AHEAD, SAM, at(hours=1, seconds=1), 2),
        rejected(AHEAD, at(hours=1, minutes=30), False),
        # A re-route of the rejected cycle, made before sales-assignment saw the rejection,
        # leaves the assignment closed (as the fold does).
        assignment(REROUTED, RITA, at(minutes=5), 1),
        rejected(REROUTED, at(hours=1), False),
        assignment(REROUTED, SAM, at(minutes=30), 2),
    ]
    outcomes = [
        rejection(AHEAD, at(hours=1, minutes=30), False),
        rejection(REROUTED, at(hours=1), False),
    ]
    got = await upgraded(database_url, facts, journey, outcomes)
    assert got[AHEAD] == (SAM.rep_id, SAM.name, 2, at(hours=1, seconds=1), True)
    assert got[REROUTED] == (SAM.rep_id, SAM.name, 2, at(minutes=30), True)


async def test_a_recycled_lead_folded_before_the_upgrade_is_its_latest_assignments_rep(
    database_url: str,
) -> None:
    # The old fold kept Sam (attempt 2) when the lead's next cycle gave it to Rita at attempt 1.
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0011")
    unjourneyed = uuid.uuid4()
    facts = [fact(lead_id, SAM, 2, recycled=True) for lead_id in (RECYCLED, unjourneyed)]
    journey = [
        assignment(RECYCLED, RITA, at(minutes=5), 1),
        assignment(RECYCLED, SAM, at(minutes=30), 2),
        assignment(RECYCLED, RITA, at(days=3), 1),
    ]
    got = await upgraded(database_url, facts, journey)
    assert got[RECYCLED] == (RITA.rep_id, RITA.name, 1, at(days=3), False)
    # No assignment in the journey: the one it has, from its first assignment on.
    assert got[unjourneyed] == (SAM.rep_id, SAM.name, 2, at(minutes=5), False)
