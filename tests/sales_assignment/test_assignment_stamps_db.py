"""Each lead's assignments are stamped in order whatever the replica's clock says, on SQLite
and PostgreSQL: a re-route or a recycled lead's next cycle is never stamped before the
assignment (or the close) it follows, so feedback's fold can order them by time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from assignment_kit import add_rep, assignment, clock, events, handle, qualified
from sqlalchemy import update

from leadflow.events import Envelope, LeadAssigned, LeadOutcome
from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow

pytestmark = pytest.mark.postgres

AHEAD = timedelta(hours=1)  # the replica that stamped the lead's last assignment ran ahead


async def stamped_ahead(a: Assigner, lead_id: uuid.UUID, **more: datetime) -> datetime:
    """Move the lead's stored assignment (and `more` columns) an hour ahead of this clock."""
    ahead = clock(a).now + AHEAD
    async with a.rt.transaction() as uow:
        stmt = update(AssignmentRow).where(AssignmentRow.lead_id == lead_id)
        await uow.session.execute(stmt.values(assigned_at=ahead, **more))
    return ahead


async def stamps(a: Assigner, lead_id: uuid.UUID) -> list[tuple[int, datetime]]:
    return [
        (e.data.attempt, e.data.assigned_at)
        for e in await events(a)
        if isinstance(e.data, LeadAssigned) and e.data.lead_id == lead_id
    ]


async def test_a_re_route_after_an_assignment_stamped_ahead_is_stamped_after_it(
    a: Assigner,
) -> None:
    await add_rep(a, "Ann")
    await add_rep(a, "Bob")
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    ahead = await stamped_ahead(a, lead_id)
    clock(a).advance(61)  # the SLA ran out: re-routed by a replica on time
    assert await a.check_sla() == 1
    attempt, stamp = (await stamps(a, lead_id))[-1]
    assert attempt == 2
    assert stamp == ahead + timedelta(microseconds=1)
    row = await assignment(a, lead_id)
    assert row is not None
    assert row.assigned_at == stamp  # the next one follows this one
    assert row.sla_due_at == clock(a).now + timedelta(seconds=60)  # the SLA runs on real time


async def assigned_ahead_then_recycled(a: Assigner, lead_id: uuid.UUID) -> datetime:
    """The lead qualified and assigned, its stamp moved an hour ahead (a replica's clock),
    then rejected with recycle; the stamp it was left with."""
    await handle(a, qualified(lead_id))
    ahead = await stamped_ahead(a, lead_id)
    rejection = LeadOutcome(lead_id=lead_id, stage="rejected", reason="not_ready",
                            occurred_at=clock(a).now, recycle=True)  # fmt: skip
    await handle(a, Envelope(data=rejection, source="/feedback"))
    return ahead


async def test_a_recycled_leads_next_cycle_is_stamped_after_its_last_assignment(
    a: Assigner,
) -> None:
    await add_rep(a, "Ann")
    lead_id = uuid.uuid4()
    ahead = await assigned_ahead_then_recycled(a, lead_id)
    clock(a).advance(5)
    await handle(a, qualified(lead_id))  # qualified again: its new cycle starts at attempt 1
    assert [attempt for attempt, _ in await stamps(a, lead_id)] == [1, 1]
    assert (await stamps(a, lead_id))[-1][1] == ahead + timedelta(microseconds=1)


async def test_a_recycled_lead_queued_first_is_still_stamped_after_its_last_assignment(
    a: Assigner,
) -> None:
    ann = await add_rep(a, "Ann")
    lead_id = uuid.uuid4()
    ahead = await assigned_ahead_then_recycled(a, lead_id)
    await admin.update_rep(a, ann, {"active": False})
    await handle(a, qualified(lead_id))  # qualified again with nobody eligible: queued
    row = await assignment(a, lead_id)
    assert row is not None
    assert row.status == "queued"
    clock(a).advance(1)
    await admin.update_rep(a, ann, {"active": True})  # Ann is back: the queue goes to her
    assert [attempt for attempt, _ in await stamps(a, lead_id)] == [1, 1]
    assert (await stamps(a, lead_id))[-1][1] == ahead + timedelta(microseconds=1)


async def test_an_assignment_on_time_keeps_the_clocks_time(a: Assigner) -> None:
    await add_rep(a, "Ann")
    await add_rep(a, "Bob")
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    first = clock(a).now
    clock(a).advance(61)
    assert await a.check_sla() == 1
    assert await stamps(a, lead_id) == [(1, first), (2, clock(a).now)]
