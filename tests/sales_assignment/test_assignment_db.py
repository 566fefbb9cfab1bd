"""Assignment on real databases (SQLite and PostgreSQL): one owner per lead, queue, SLA, erasure."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from assignment_kit import (
    add_rep,
    assignment,
    body,
    clock,
    count,
    deliveries,
    events,
    handle,
    history,
    outcome,
    qualified,
)
from sqlalchemy import select

from leadflow.events import LeadAssigned, LeadErased
from sales_assignment import admin, repo
from sales_assignment.assigning import Assigner
from sales_assignment.models import AssignmentRow, RRStateRow

pytestmark = pytest.mark.postgres

HOOK = "http://127.0.0.1:9/hook"  # never called here: these tests stop at the delivery rows


async def test_a_qualified_lead_gets_one_rep_one_event_and_one_delivery(a: Assigner) -> None:
    ann = await add_rep(a, "Ann")
    await admin.create_endpoint(a, HOOK, ["lead.assigned"])
    env = qualified()
    lead_id = env.data.lead_id

    await handle(a, env)

    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.rep_id, row.status, row.attempt) == (ann, "assigned", 1)
    assert row.sla_due_at == clock(a).now + (row.sla_due_at - row.assigned_at)  # type: ignore[operator]
    assert [h.event for h in await history(a, lead_id)] == ["assigned"]
    [event] = await events(a)
    assert isinstance(event.data, LeadAssigned)
    assert (event.data.rep.rep_id, event.data.attempt) == (ann, 1)
    assert event.data.reason.rule == "default"
    [delivery] = await deliveries(a, lead_id)
    assert (delivery.status, delivery.event_type, delivery.id[:4]) == (
        "pending",
        "lead.assigned",
        "msg_",
    )
    doc = body(delivery)
    assert set(doc) == {"type", "timestamp", "data"}
    assert doc["type"] == "lead.assigned"
    assert set(doc["data"]) == {"lead", "rep", "score", "assignment"}
    assert doc["data"]["lead"]["email"] == "ada@acme.example"
    assert doc["data"]["rep"]["rep_id"] == str(ann)
    assert doc["data"]["score"]["score"] == 82
    assert doc["data"]["assignment"]["attempt"] == 1


async def test_the_same_lead_again_changes_nothing(a: Assigner) -> None:
    await add_rep(a, "Ann")
    await add_rep(a, "Bob")
    await admin.create_endpoint(a, HOOK, ["lead.assigned", "lead.reassigned"])
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    first = await assignment(a, lead_id)

    await handle(a, qualified(lead_id))  # another ce_id for the same lead: re-qualified

    again = await assignment(a, lead_id)
    assert first is not None
    assert again is not None
    assert (again.rep_id, again.attempt) == (first.rep_id, 1)
    assert len(await events(a)) == 1
    assert len(await deliveries(a)) == 1
    assert len(await history(a, lead_id)) == 1


async def test_weighted_round_robin_state_is_kept_between_leads(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", weight=2)
    bob = await add_rep(a, "Bob", weight=1)
    leads = [uuid.uuid4() for _ in range(6)]
    for lead_id in leads:
        await handle(a, qualified(lead_id))
    owners = [(await assignment(a, lid)).rep_id for lid in leads]  # type: ignore[union-attr]
    assert owners.count(ann) == 4
    assert owners.count(bob) == 2
    async with a.rt.sessions() as s:
        assert [r.pool for r in await s.scalars(select(RRStateRow))] == ["default"]


async def test_concurrent_leads_never_overfill_a_rep(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=2)
    leads = [uuid.uuid4() for _ in range(6)]
    await asyncio.gather(*(handle(a, qualified(lid)) for lid in leads))
    rows = [await assignment(a, lid) for lid in leads]
    assert sorted(r.status for r in rows if r) == ["assigned"] * 2 + ["queued"] * 4
    assert all(r.rep_id == ann for r in rows if r and r.status == "assigned")
    assert len(await events(a)) == 2


async def test_a_lead_nobody_can_take_waits_in_the_queue_until_a_rep_appears(a: Assigner) -> None:
    await add_rep(a, "Ann", territories=["NA"])
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id, country="DE"))

    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.status, row.rep_id, row.attempt) == ("queued", None, 0)
    assert "territory" in json.dumps(row.reason)
    assert await events(a) == []
    assert await a.retry_queue() == 0

    eve = await add_rep(a, "Eve", territories=["EMEA"])  # a new rep takes the queue at once

    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.status, row.rep_id, row.attempt) == ("assigned", eve, 1)
    assert [h.event for h in await history(a, lead_id)] == ["queued", "assigned"]
    assert len(await events(a)) == 1


async def test_the_periodic_queue_pass_assigns_when_capacity_returns(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=0)
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    assert (await assignment(a, lead_id)).status == "queued"  # type: ignore[union-attr]
    async with a.rt.transaction() as uow:  # raised behind the API's back: only the worker notices
        s = uow.session
        rep = await repo.get_rep(s, ann)
        assert rep is not None
        rep.max_open_leads = 5
    assert await a.retry_queue() == 1
    assert (await assignment(a, lead_id)).rep_id == ann  # type: ignore[union-attr]


async def test_an_sla_miss_moves_the_lead_to_the_next_rep(a: Assigner) -> None:
    ann = await add_rep(a, "Ann")
    bob = await add_rep(a, "Bob")
    await admin.create_endpoint(a, HOOK, ["lead.assigned", "lead.reassigned"])
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    first = await assignment(a, lead_id)
    assert first is not None
    assert await a.check_sla() == 0  # not due yet

    clock(a).advance(61)
    assert await a.check_sla() == 1

    row = await assignment(a, lead_id)
    assert row is not None
    assert row.rep_id == ({ann, bob} - {first.rep_id}).pop()
    assert (row.status, row.attempt) == ("reassigned", 2)
    assert [h.event for h in await history(a, lead_id)] == ["assigned", "sla_missed", "reassigned"]
    assert [e.data.attempt for e in await events(a)] == [1, 2]  # type: ignore[attr-defined]
    assert [d.event_type for d in await deliveries(a, lead_id)] == [
        "lead.assigned",
        "lead.reassigned",
    ]
    assert [d.seq for d in await deliveries(a, lead_id)] == [1, 3]  # attempt n: 2n - 1

    await admin.accept(a, lead_id)
    clock(a).advance(3600)
    assert await a.check_sla() == 0
    row = await assignment(a, lead_id)
    assert (row.status, row.attempt) == ("accepted", 2)  # type: ignore[union-attr]
    with pytest.raises(admin.Conflict):
        await admin.accept(a, lead_id)


async def test_an_sla_miss_with_nobody_else_keeps_the_rep(a: Assigner) -> None:
    ann = await add_rep(a, "Ann")
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    clock(a).advance(61)
    assert await a.check_sla() == 0
    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.rep_id, row.status, row.attempt) == (ann, "assigned", 1)
    assert row.sla_due_at is not None
    assert row.sla_due_at > clock(a).now
    assert [h.event for h in await history(a, lead_id)] == ["assigned", "sla_missed"]
    assert len(await events(a)) == 1


async def test_a_won_or_lost_lead_frees_capacity_for_the_queue(a: Assigner) -> None:
    ann = await add_rep(a, "Ann", max_open_leads=1)
    first, second = uuid.uuid4(), uuid.uuid4()
    await handle(a, qualified(first))
    await handle(a, qualified(second))
    assert (await assignment(a, second)).status == "queued"  # type: ignore[union-attr]

    await handle(a, outcome(first, "contacted"))
    assert (await assignment(a, first)).status == "accepted"  # type: ignore[union-attr]
    await handle(a, outcome(first, "won"))

    assert (await assignment(a, first)).status == "closed"  # type: ignore[union-attr]
    row = await assignment(a, second)
    assert row is not None
    assert (row.status, row.rep_id) == ("assigned", ann)


async def test_erasure_drops_personal_data_everywhere(a: Assigner) -> None:
    await add_rep(a, "Ann")
    await admin.create_endpoint(a, HOOK, ["lead.assigned"])
    lead_id = uuid.uuid4()
    await handle(a, qualified(lead_id))
    erased = LeadErased(lead_id=lead_id, erased_at=clock(a).now)
    env = qualified(lead_id)
    await handle(a, type(env)(data=erased, source="/marketing-intake"))

    row = await assignment(a, lead_id)
    assert row is not None
    assert row.erased_at is not None
    stored = json.dumps([row.lead, row.reason, row.facts, row.score])
    stored += json.dumps([h.reason for h in await history(a, lead_id)])
    stored += "".join(d.body.decode() for d in await deliveries(a, lead_id))
    for personal in ("ada@acme.example", "Ada", "Lovelace", "+4930123456"):
        assert personal not in stored
    # Nobody can contact the person: the lead is closed, its unsent message dropped.
    assert (row.status, row.sla_due_at) == ("closed", None)
    assert await deliveries(a, lead_id) == []


async def test_a_lead_erased_before_it_qualifies_is_never_assigned(a: Assigner) -> None:
    await add_rep(a, "Ann")
    lead_id = uuid.uuid4()
    env = qualified(lead_id)
    erased = LeadErased(lead_id=lead_id, erased_at=clock(a).now)
    await handle(a, type(env)(data=erased, source="/marketing-intake"))
    await handle(a, env)
    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.status, row.rep_id) == ("closed", None)
    assert await events(a) == []
    assert await count(a, AssignmentRow) == 1
