"""Routing new MQLs, without a database: what the assigner emits and stages in its unit of work."""

from __future__ import annotations

import uuid

from assigner_kit import NOW, assigner, qualified

from leadflow.events import LeadAssigned
from leadflow.uow import MemoryUnitOfWork
from sales_assignment.models import AssignmentRow, HistoryRow, RepRow, RRStateRow
from sales_assignment.staging import Staged
from sales_assignment.team import Team


def rep(name: str) -> RepRow:
    return RepRow(rep_id=uuid.uuid4(), name=name, email=f"{name.lower()}@seller.example",
                  active=True, weight=1, max_open_leads=None, territories=[], segments=[],
                  timezone="UTC", working_hours=None, out_of_office=[], created_at=NOW,
                  updated_at=NOW, deleted_at=None)  # fmt: skip


async def test_each_new_mql_gets_a_rep_an_event_and_its_rows_staged_for_the_commit() -> None:
    a = assigner()
    ann, bob = rep("Ann"), rep("Bob")
    team = Team({ann.rep_id: ann, bob.rep_id: bob}, {}, {})
    uow = MemoryUnitOfWork()
    todo = [qualified(), qualified()]

    await a.assign_new(uow, team, todo, Staged(_endpoints=[]))  # no webhook endpoints

    assigned = [e.data for e in uow.emitted]
    assert all(isinstance(e, LeadAssigned) for e in assigned)
    assert [e.lead_id for e in assigned] == [event.lead_id for _, event in todo]
    assert {e.rep.rep_id for e in assigned if isinstance(e, LeadAssigned)} == {
        ann.rep_id,
        bob.rep_id,
    }
    assert [m.topic for m in uow.staged.messages] == ["leads.assigned"] * 2
    rows = {part.table.name: part for part in uow.staged.rows}
    assert [r["lead_id"] for r in rows[AssignmentRow.__tablename__].rows] == [
        event.lead_id for _, event in todo
    ]
    assert {r["event"] for r in rows[HistoryRow.__tablename__].rows} == {"assigned"}
    assert rows[RRStateRow.__tablename__].replace  # the round-robin state: an upsert
    assert a.doorbell.ring not in uow.callbacks  # no webhook deliveries: nothing to wake
    # The replay record: the two decisions, the team's checkpoint, its snapshot at commit.
    assert [r["lead_id"] for r in rows["routing_decisions"].rows] == [e.lead_id for _, e in todo]
    assert len(rows["routing_checkpoints"].rows) == 1
    assert len(uow.steps) == 1
