"""Rejected leads in sales-assignment (issue 24), through the registered handlers with the
consumer's inbox, on SQLite and PostgreSQL: the assignment closes and the rep's room comes
back; a recycled lead qualified again is routed again, once; spam never comes back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from assignment_kit import (
    add_rep,
    assignment,
    deliveries,
    events,
    history,
    qualified,
)

from leadflow.events import Envelope, LeadAssigned, LeadErased, LeadOutcome
from leadflow.outbox import claim_inbox
from sales_assignment import admin, repo
from sales_assignment.assigning import Assigner

pytestmark = pytest.mark.postgres

ENDPOINT = "http://127.0.0.1:9/hook"  # never called: the tests stop at the delivery rows


async def deliver(a: Assigner, env: Envelope) -> None:
    """What the consumer loop does: the inbox claim and the handler in one transaction."""
    async with a.rt.transaction() as uow:
        if await claim_inbox(uow.session, "sales-assignment", env.id):
            await a.handlers()[type(env.data)](uow, env)


def rejected(lead_id: uuid.UUID, reason: str, **kw: Any) -> Envelope:
    event = LeadOutcome(
        lead_id=lead_id, stage="rejected", reason=reason, occurred_at=datetime.now(UTC), **kw
    )
    return Envelope(data=event, source="/feedback")


async def open_leads(a: Assigner, rep_id: uuid.UUID) -> int:
    async with a.rt.sessions() as s:
        return (await repo.open_counts(s)).get(rep_id, 0)


async def steps(a: Assigner, lead_id: uuid.UUID) -> list[str]:
    return [h.event for h in await history(a, lead_id)]


async def test_a_rejection_closes_the_assignment_and_frees_the_reps_room(
    assigner: Assigner,
) -> None:
    ann = await add_rep(assigner, "Ann", max_open_leads=1)
    first, second = qualified(), qualified()
    await deliver(assigner, first)
    await deliver(assigner, second)  # Ann is full: queued
    assert await open_leads(assigner, ann) == 1
    rejection = rejected(first.data.lead_id, "not_a_fit")
    await deliver(assigner, rejection)
    await deliver(assigner, rejection)  # redelivered: the inbox drops it
    row = await assignment(assigner, first.data.lead_id)
    assert row is not None
    assert (row.status, row.rep_id, row.sla_due_at, row.recycled_at) == ("closed", ann, None, None)
    [*_, step] = await history(assigner, first.data.lead_id)
    assert (step.event, step.reason["reason"], step.reason["recycle"]) == (
        "rejected",
        "not_a_fit",
        False,
    )
    assert await steps(assigner, first.data.lead_id) == ["assigned", "rejected"]
    # Ann's room came back: the queued lead went to her at once.
    waiting = await assignment(assigner, second.data.lead_id)
    assert waiting is not None
    assert (waiting.status, waiting.rep_id) == ("assigned", ann)
    assert await open_leads(assigner, ann) == 1


async def test_a_rejected_queued_lead_leaves_the_queue(assigner: Assigner) -> None:
    env = qualified()
    await deliver(assigner, env)  # nobody to take it
    assert await steps(assigner, env.data.lead_id) == ["queued"]
    await deliver(assigner, rejected(env.data.lead_id, "no_contact", recycle=True))
    await add_rep(assigner, "Ann")
    async with assigner.rt.transaction() as uow:
        assert await assigner.drain_queue(uow) == 0
    row = await assignment(assigner, env.data.lead_id)
    assert row is not None
    assert (row.status, row.rep_id, row.queued_at) == ("closed", None, None)
    assert row.recycled_at is not None
    assert await steps(assigner, env.data.lead_id) == ["queued", "rejected"]


async def test_a_recycled_lead_qualified_again_starts_one_new_cycle(assigner: Assigner) -> None:
    ann = await add_rep(assigner, "Ann")
    await admin.create_endpoint(assigner, ENDPOINT, ["lead.assigned", "lead.reassigned"])
    env = qualified()
    lead_id = env.data.lead_id
    await deliver(assigner, env)
    await deliver(assigner, rejected(lead_id, "not_ready", recycle=True))
    assert await open_leads(assigner, ann) == 0
    again = qualified(lead_id, company="Acme Renewed")
    await deliver(assigner, again)
    await deliver(assigner, again)  # redelivered: the inbox drops it
    await deliver(assigner, qualified(lead_id))  # another qualification while assigned: ignored
    row = await assignment(assigner, lead_id)
    assert row is not None
    assert (row.status, row.rep_id, row.attempt, row.recycled_at) == ("assigned", ann, 1, None)
    assert row.lead["company"] == "Acme Renewed"
    assert await steps(assigner, lead_id) == ["assigned", "rejected", "requalified", "assigned"]
    assert await open_leads(assigner, ann) == 1
    assigned = [e.data for e in await events(assigner) if isinstance(e.data, LeadAssigned)]
    assert [(e.lead_id, e.attempt) for e in assigned] == [(lead_id, 1), (lead_id, 1)]
    assert [d.event_type for d in await deliveries(assigner, lead_id)] == ["lead.assigned"] * 2


@pytest.mark.parametrize("reason", ["spam", "duplicate", "not_a_fit"])
async def test_a_lead_rejected_without_recycle_is_never_routed_again(
    assigner: Assigner, reason: str
) -> None:
    await add_rep(assigner, "Ann")
    env = qualified()
    await deliver(assigner, env)
    await deliver(assigner, rejected(env.data.lead_id, reason))
    await deliver(assigner, qualified(env.data.lead_id))
    row = await assignment(assigner, env.data.lead_id)
    assert row is not None
    assert row.status == "closed"
    assert await steps(assigner, env.data.lead_id) == ["assigned", "rejected"]


async def test_two_qualifications_of_a_recycled_lead_in_one_batch_start_one_cycle(
    assigner: Assigner,
) -> None:
    await add_rep(assigner, "Ann")
    env = qualified()
    lead_id = env.data.lead_id
    await deliver(assigner, env)
    await deliver(assigner, rejected(lead_id, "not_ready", recycle=True))
    async with assigner.rt.transaction() as uow:  # one poll's run, as the batch handler gets it
        await assigner.on_qualified_many(uow, [qualified(lead_id), qualified(lead_id)])
    assert await steps(assigner, lead_id) == ["assigned", "rejected", "requalified", "assigned"]


async def test_an_erasure_drops_the_rejection_reason_from_the_history(assigner: Assigner) -> None:
    await add_rep(assigner, "Ann")
    env = qualified()
    lead_id = env.data.lead_id
    await deliver(assigner, env)
    await deliver(assigner, rejected(lead_id, "not_a_fit"))
    erased = LeadErased(lead_id=lead_id, erased_at=datetime.now(UTC))
    await deliver(assigner, Envelope(data=erased, source="/marketing-intake"))
    [*_, step] = await history(assigner, lead_id)
    assert (step.event, step.reason["reason"], step.reason["recycle"]) == ("rejected", None, False)
