"""A partition batch folds into the read model exactly as its events one by one would.

The consumer hands feedback a whole partition batch in one transaction (`BATCH_HANDLERS`: one
lock, one read, one insert); the same events delivered one at a time (`HANDLERS`) must leave
the same journey and facts. Two leads get the same history, one each way, on both databases.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from feedback_events import RITA, SAM, T0, assigned, at, captured, deliver, erased, lead, scored
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from feedback.handlers import BATCH_HANDLERS
from feedback.models import JourneyEvent, LeadFacts
from leadflow.events import Envelope, LeadCaptured
from leadflow.outbox import claim_inbox_many
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres

ONE_BY_ONE, BATCHED = uuid.UUID(int=0x1), uuid.UUID(int=0x2)


def history(lead_id: uuid.UUID) -> list[list[Envelope]]:
    """A lead's events as partition batches (one topic each), in the order they arrive."""
    first = lead(lead_id, T0, source="webinar", utm_campaign="q4")
    again = lead(lead_id, at(days=-1), source="organic")  # an earlier touch arriving late
    return [
        [captured(first), captured(again, touch=2)],
        [scored(first, 40, at(hours=1)), scored(first, 30, at(minutes=30))],
        [scored(first, 80, at(hours=2))],
        [assigned(lead_id, RITA, at(hours=3)), assigned(lead_id, SAM, at(hours=4), attempt=2)],
    ]


async def deliver_batch(rt: Runtime, envs: list[Envelope], group: str | None = None) -> None:
    """What the consumer loop does with a partition batch: one claim, one batch handler."""
    group = group or rt.settings.consumer_group
    async with rt.transaction() as uow:
        fresh = await claim_inbox_many(uow.session, group, [e.id for e in envs])
        todo = [e for e in envs if e.id in fresh]
        await BATCH_HANDLERS[type(todo[0].data)](uow, todo)


async def read_model(rt: Runtime, lead_id: uuid.UUID) -> tuple[dict[str, Any], list[Any]]:
    async with rt.sessions() as s:
        facts = await s.get(LeadFacts, lead_id)
        stmt = (
            select(JourneyEvent)
            .where(JourneyEvent.lead_id == lead_id)
            .order_by(JourneyEvent.occurred_at, JourneyEvent.id)
        )
        journey = [(j.ce_type, j.occurred_at, j.data) for j in await s.scalars(stmt)]
    assert facts is not None
    columns = {k: v for k, v in vars(facts).items() if not k.startswith("_") and k != "lead_id"}
    return columns, journey


async def test_a_batch_leaves_the_same_journey_and_facts_as_its_events_one_by_one(
    rt: Runtime,
) -> None:
    for batch in history(ONE_BY_ONE):
        for envelope in batch:
            assert await deliver(rt, envelope)
    for batch in history(BATCHED):
        await deliver_batch(rt, batch)

    assert await read_model(rt, BATCHED) == await read_model(rt, ONE_BY_ONE)
    facts, journey = await read_model(rt, BATCHED)
    assert (facts["source"], facts["touches"], facts["score"]) == ("organic", 2, 80)
    assert (facts["rep_name"], facts["assignment_attempt"]) == ("Sam Rep", 2)
    assert len(journey) == 7


async def test_a_batch_skips_events_already_in_the_journey_and_erases_what_it_added(
    rt: Runtime,
) -> None:
    first = captured(lead(BATCHED, T0, source="webinar"))
    assert await deliver(rt, first)
    # Replayed under another consumer group (its inbox does not know it), with a new touch.
    touch = captured(lead(BATCHED, at(days=1)), touch=2)
    await deliver_batch(rt, [first, touch], group="feedback-replay")
    await deliver_batch(rt, [erased(BATCHED, at(days=2))])

    facts, journey = await read_model(rt, BATCHED)
    assert [ce_type for ce_type, _, _ in journey].count("io.leadflow.lead.captured.v1") == 2
    assert all("lead" not in data for _, _, data in journey)
    assert (facts["touches"], facts["erased_at"]) == (2, at(days=2))


async def test_a_poll_across_partitions_folds_together_as_its_runs_one_by_one(
    rt: Runtime,
) -> None:
    for batch in history(ONE_BY_ONE):
        await deliver_batch(rt, batch)
    # What the consumer does with a poll over several partitions: one transaction, one
    # batch handler call per run of same-type events, folded together at the commit.
    async with rt.transaction() as uow:
        for run in history(BATCHED):
            await BATCH_HANDLERS[type(run[0].data)](uow, run)

    assert await read_model(rt, BATCHED) == await read_model(rt, ONE_BY_ONE)


async def test_an_event_that_changes_no_facts_is_still_in_the_journey(rt: Runtime) -> None:
    the_lead = lead(BATCHED, T0, source="webinar")
    first, again = scored(the_lead, 80, at(hours=1)), scored(the_lead, 80, at(hours=1))
    await deliver_batch(rt, [captured(the_lead), first])
    before, _ = await read_model(rt, BATCHED)
    await deliver_batch(rt, [again])  # as leads.qualified repeats leads.scored

    facts, journey = await read_model(rt, BATCHED)
    assert facts == before
    assert [ce_type for ce_type, _, _ in journey].count(first.type) == 2


async def test_events_staged_in_a_transaction_that_rolls_back_leave_nothing(rt: Runtime) -> None:
    async def fail_after_staging() -> None:
        async with rt.transaction() as uow:
            await BATCH_HANDLERS[LeadCaptured](uow, [captured(lead(BATCHED, T0))])
            raise RuntimeError("the handler after it failed")

    with pytest.raises(RuntimeError):
        await fail_after_staging()
    async with rt.transaction():
        pass  # the next transaction commits: nothing staged is left over

    async with rt.sessions() as s:
        assert await s.get(LeadFacts, BATCHED) is None
        assert (await s.scalars(select(JourneyEvent))).all() == []


async def test_a_naive_time_is_refused_as_the_time_columns_refuse_it(rt: Runtime) -> None:
    naive = lead(BATCHED, T0.replace(tzinfo=None))
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        await deliver_batch(rt, [captured(naive)])
