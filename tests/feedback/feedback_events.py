"""Builders of the events feedback consumes, and delivery the way the kernel's consumer does it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from leadflow.events import (
    AssignmentReason,
    Attribution,
    Envelope,
    Event,
    Lead,
    LeadAssigned,
    LeadCaptured,
    LeadErased,
    LeadQualified,
    LeadScored,
    RepRef,
    decode,
)
from leadflow.outbox import claim_inbox, outbox_table
from leadflow.service import Runtime
from support.apps import registered

ADMIN = {"Authorization": "Bearer dev-feedback-test"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
RITA = RepRef(rep_id=uuid.UUID(int=1), name="Rita Rep", email="rita@seller.example")
SAM = RepRef(rep_id=uuid.UUID(int=2), name="Sam Rep", email="sam@seller.example")


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def lead(lead_id: uuid.UUID, captured_at: datetime = T0, **attribution: Any) -> Lead:
    return Lead(
        lead_id=lead_id,
        email=f"person-{lead_id.hex[:6]}@example.com",
        first_name="Ada",
        last_name="Lovelace",
        phone="+442071234567",
        company="Analytical Engines",
        company_size=250,
        industry="software",
        country="DE",
        attribution=Attribution(**attribution),
        custom={"note": "secret-note"},
        captured_at=captured_at,
    )


def env(event: Event, source: str = "/test") -> Envelope:
    return Envelope(data=event, source=source)


def captured(the_lead: Lead, touch: int = 1) -> Envelope:
    return env(LeadCaptured(lead_id=the_lead.lead_id, lead=the_lead, touch=touch,
                            duplicate=touch > 1))  # fmt: skip


def scored(the_lead: Lead, score: int, when: datetime) -> Envelope:
    cls = LeadQualified if score >= 60 else LeadScored
    return env(cls(lead_id=the_lead.lead_id, score=score, qualified=score >= 60, threshold=60,
                   factors=[], model_version="v1", scored_at=when, lead=the_lead))  # fmt: skip


def assigned(lead_id: uuid.UUID, rep: RepRef, when: datetime, attempt: int = 1) -> Envelope:
    return env(LeadAssigned(lead_id=lead_id, rep=rep, assigned_at=when, attempt=attempt,
                            reason=AssignmentReason(rule="round_robin")))  # fmt: skip


def erased(lead_id: uuid.UUID, when: datetime) -> Envelope:
    return env(LeadErased(lead_id=lead_id, erased_at=when))


async def deliver(rt: Runtime, envelope: Envelope) -> bool:
    """What the consumer loop does: inbox claim and handler in one transaction."""
    async with rt.transaction() as uow:
        if not await claim_inbox(uow.session, rt.settings.consumer_group, envelope.id):
            return False
        await registered(rt, type(envelope.data))(uow, envelope)
    return True


async def unsent(rt: Runtime) -> list[tuple[str, bytes, Envelope]]:
    """The outbox rows not published yet, decoded as a consumer would: (topic, key, envelope)."""
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_table).where(outbox_table.c.sent_at.is_(None)).order_by("id")
            )
        ).all()
    return [
        (r.topic, r.key, decode(r.value, [(k, v.encode()) for k, v in r.headers])) for r in rows
    ]


async def relay(rt: Runtime) -> int:
    """Publish the outbox to ourselves: deliver each unsent event, then mark it sent."""
    pending = await unsent(rt)
    for _, _, envelope in pending:
        await deliver(rt, envelope)
    async with rt.engine.begin() as conn:
        await conn.execute(update(outbox_table).values(sent_at=datetime.now(UTC)))
    return len(pending)
