"""Past leads for scoring simulations, made by the real handlers through the inbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from leadflow.events import (
    Attribution,
    Envelope,
    Event,
    Lead,
    LeadCaptured,
    LeadErased,
    LeadOutcome,
)
from leadflow.outbox import claim_inbox
from support.apps import registered, runtime


async def deliver(app: FastAPI, event: Event | Envelope) -> None:
    """What the consumer loop does: the inbox claim and the registered handler, one
    transaction (an event goes in an envelope of now)."""
    rt = runtime(app)
    envelope = event if isinstance(event, Envelope) else Envelope(data=event, source="/test")
    async with rt.transaction() as uow:
        if await claim_inbox(uow.session, "lead-scoring", envelope.id):
            await registered(rt, type(envelope.data))(uow, envelope)


def lead(**fields: Any) -> Lead:
    return Lead(lead_id=uuid.uuid4(), captured_at=datetime.now(UTC), **fields)


def cto() -> Lead:
    """80 with the default rules: an MQL at their threshold (60)."""
    return lead(
        email="ada@bigco.example.com", first_name="Ada", last_name="Lovelace", job_title="CTO",
        company_size=400, industry="software", country="DE",
        attribution=Attribution(source="webinar", utm_term="lovelace-secret"),
    )  # fmt: skip


def manager() -> Lead:
    """48 with the default rules: an MQL only at a threshold of 48 or less."""
    return lead(
        email="bob@small.example.com", first_name="Bob", job_title="Marketing Manager",
        company_size=30, industry="software", country="FR",
    )  # fmt: skip


def student() -> Lead:
    """0 with the default rules."""
    return lead(email="carl@gmail.com", first_name="Carl", job_title="Student", country="US")


def outcome(lead_id: uuid.UUID, stage: str, **kw: Any) -> LeadOutcome:
    return LeadOutcome(lead_id=lead_id, stage=stage, occurred_at=datetime.now(UTC), **kw)


async def history(app: FastAPI) -> dict[str, Lead]:
    """Five leads and their verdicts, through the handlers: two won (1,000 and 500 EUR), one
    lost, one rejected and then erased, one without a verdict."""
    leads = {"won": cto(), "cheap": manager(), "lost": cto(), "erased": cto(), "none": student()}
    for x in leads.values():
        await deliver(app, LeadCaptured(lead_id=x.lead_id, lead=x))
    won = leads["won"].lead_id
    await deliver(app, outcome(won, "won", amount=Decimal("1000"), currency="EUR"))
    await deliver(
        app, outcome(leads["cheap"].lead_id, "won", amount=Decimal("500.50"), currency="EUR")
    )
    await deliver(app, outcome(leads["lost"].lead_id, "lost"))
    await deliver(app, outcome(leads["erased"].lead_id, "rejected", reason="not_a_fit"))
    await deliver(app, LeadErased(lead_id=leads["erased"].lead_id, erased_at=datetime.now(UTC)))
    return leads
