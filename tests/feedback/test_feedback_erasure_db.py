"""Erasure in feedback: outcome reasons never outlive it, whenever they come; no outbox copy."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from feedback_events import ADMIN, T0, at, captured, deliver, erased, lead, relay, unsent
from sqlalchemy import select

from feedback.models import JourneyEvent, LeadFacts, Outcome
from leadflow.events import Envelope, LeadOutcome
from leadflow.outbox import outbox_table
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres

LEAD = uuid.UUID(int=0xE2A5ED)
REASON = "Ada said her boss Bob vetoed it"


async def post(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/outcomes", json={"lead_id": str(LEAD), **body}, headers=ADMIN)


async def held(rt: Runtime) -> str:
    """Everything feedback holds about the lead (journey, outcomes, outbox), as text."""
    async with rt.sessions() as s:
        journey = [r.data for r in await s.scalars(select(JourneyEvent))]
        reasons = list(await s.scalars(select(Outcome.reason).where(Outcome.lead_id == LEAD)))
        outbox = [bytes(v).decode() for v in await s.scalars(select(outbox_table.c.value))]
    return json.dumps([journey, reasons, outbox])


async def test_an_outcome_posted_after_the_erasure_keeps_no_reason(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    assert await deliver(rt, captured(lead(LEAD, T0, source="webinar")))
    assert await deliver(rt, erased(LEAD, at(days=1)))

    response = await post(client, stage="lost", reason=REASON)

    assert response.status_code == 202
    [(_, _, envelope)] = await unsent(rt)
    assert isinstance(envelope.data, LeadOutcome)
    assert (envelope.data.stage, envelope.data.reason) == ("lost", None)  # the stage still counts
    await relay(rt)  # and consumed back
    assert REASON not in await held(rt)


async def test_an_outcome_consumed_after_the_erasure_keeps_no_reason(rt: Runtime) -> None:
    assert await deliver(rt, erased(LEAD, at(days=1)))
    late = LeadOutcome(lead_id=LEAD, stage="lost", occurred_at=at(days=2), reason=REASON)
    assert await deliver(rt, Envelope(data=late, source="/crm-bridge"))
    assert REASON not in await held(rt)


async def test_erasure_drops_the_leads_outcome_events_from_the_outbox(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    assert (await post(client, stage="lost", reason=REASON)).status_code == 202
    other = {"lead_id": str(uuid.uuid4()), "stage": "contacted"}
    assert (await client.post("/v1/outcomes", json=other, headers=ADMIN)).status_code == 202
    assert REASON in await held(rt)

    assert await deliver(rt, erased(LEAD, at(days=1)))

    assert REASON not in await held(rt)
    assert [str(e.data.lead_id) for _, _, e in await unsent(rt)] == [other["lead_id"]]


async def rejection_facts(rt: Runtime) -> tuple[object, ...] | None:
    async with rt.sessions() as s:
        row = (
            await s.execute(
                select(LeadFacts.rejected_at, LeadFacts.rejection_reason, LeadFacts.recycled).where(
                    LeadFacts.lead_id == LEAD
                )
            )
        ).first()
    return tuple(row) if row is not None else None


async def test_erasure_clears_the_rejection_reason_and_keeps_when_and_recycled(
    rt: Runtime,
) -> None:
    assert await deliver(rt, captured(lead(LEAD, T0, source="webinar")))
    rejection = LeadOutcome(
        lead_id=LEAD, stage="rejected", occurred_at=at(hours=1), reason="not_ready", recycle=True
    )
    assert await deliver(rt, Envelope(data=rejection, source="/crm-bridge"))
    assert await rejection_facts(rt) == (at(hours=1), "not_ready", True)

    assert await deliver(rt, erased(LEAD, at(days=1)))

    # The funnel still counts the rejection (when, recycled); its reason is gone.
    assert await rejection_facts(rt) == (at(hours=1), None, True)
    later = rejection.model_copy(update={"occurred_at": at(days=2), "reason": "not_a_fit"})
    assert await deliver(rt, Envelope(data=later, source="/crm-bridge"))
    assert await rejection_facts(rt) == (at(days=2), None, True)


async def test_a_rejection_posted_after_the_erasure_keeps_no_reason_code(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    assert await deliver(rt, erased(LEAD, at(days=1)))

    response = await post(client, stage="rejected", reason="not_ready")

    assert response.status_code == 202, response.text
    [(_, _, envelope)] = await unsent(rt)
    assert isinstance(envelope.data, LeadOutcome)
    assert (envelope.data.reason, envelope.data.recycle) == (None, True)
    await relay(rt)
    assert "not_ready" not in await held(rt)
    assert (await rejection_facts(rt) or ())[1:] == (None, True)
