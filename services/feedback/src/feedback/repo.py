"""feedback's SQL: every query lives here, handlers call these."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import (
    CampaignCost,
    Integration,
    JourneyEvent,
    LeadFacts,
    Outcome,
    WebhookReceipt,
)


def _lock_key(lead_id: uuid.UUID) -> str:
    return f"feedback:{lead_id}"


async def lock_lead(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Serialise work on one lead (PostgreSQL); SQLite already has one writer."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _lock_key(lead_id)}
        )


async def lock_leads(session: AsyncSession, lead_ids: Collection[uuid.UUID]) -> None:
    """`lock_lead` for many leads in one round trip, in a fixed order (no deadlocks)."""
    if session.get_bind().dialect.name == "postgresql" and lead_ids:
        await session.execute(_LOCK_LEADS, {"keys": sorted(_lock_key(i) for i in lead_ids)})


_LOCK_LEADS = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS s"
)


async def journey_has(session: AsyncSession, ce_id: str) -> bool:
    found = await session.scalar(select(JourneyEvent.id).where(JourneyEvent.ce_id == ce_id))
    return found is not None


async def journey(session: AsyncSession, lead_id: uuid.UUID) -> list[JourneyEvent]:
    """The lead's events, in the order they happened (arrival order among equal times)."""
    stmt = (
        select(JourneyEvent)
        .where(JourneyEvent.lead_id == lead_id)
        .order_by(JourneyEvent.occurred_at, JourneyEvent.id)
    )
    return list(await session.scalars(stmt))


async def add_journey(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Append events to journeys, in this order, in one statement."""
    if rows:
        await session.execute(insert(JourneyEvent), list(rows))


async def journey_ids(session: AsyncSession, ce_ids: set[str]) -> set[str]:
    """Which of these events are already in the journey."""
    stmt = select(JourneyEvent.ce_id).where(JourneyEvent.ce_id.in_(ce_ids))
    return set(await session.scalars(stmt))


_FACTS = "feedback.facts"


async def load_facts(session: AsyncSession, lead_ids: set[uuid.UUID]) -> None:
    """Load these leads' facts rows once; `get_facts` then answers for them without SQL."""
    rows = await session.scalars(select(LeadFacts).where(LeadFacts.lead_id.in_(lead_ids)))
    cache: dict[uuid.UUID, LeadFacts | None] = dict.fromkeys(lead_ids)
    cache.update({row.lead_id: row for row in rows})
    session.info[_FACTS] = cache


def forget_loaded(session: AsyncSession) -> None:
    session.info.pop(_FACTS, None)


def add_facts(session: AsyncSession, facts: LeadFacts) -> None:
    """A new facts row (kept in the loaded set, so the batch's next event finds it)."""
    session.add(facts)
    cache = session.info.get(_FACTS)
    if cache is not None:
        cache[facts.lead_id] = facts


async def get_facts(session: AsyncSession, lead_id: uuid.UUID) -> LeadFacts | None:
    cache = session.info.get(_FACTS)
    if cache is not None and lead_id in cache:
        return cache[lead_id]  # type: ignore[no-any-return]
    return await session.get(LeadFacts, lead_id)


async def facts_captured_between(
    session: AsyncSession, start: datetime | None, end: datetime | None
) -> Sequence[LeadFacts]:
    """Leads captured in [start, end); leads not captured yet (outcome first) are left out."""
    stmt = select(LeadFacts).where(LeadFacts.captured_at.is_not(None))
    if start is not None:
        stmt = stmt.where(LeadFacts.captured_at >= start)
    if end is not None:
        stmt = stmt.where(LeadFacts.captured_at < end)
    return list(await session.scalars(stmt))


async def forget_outcome_reasons(session: AsyncSession, lead_id: uuid.UUID) -> None:
    await session.execute(update(Outcome).where(Outcome.lead_id == lead_id).values(reason=None))


async def outcome_by_external_id(session: AsyncSession, external_id: str) -> Outcome | None:
    stmt = select(Outcome).where(Outcome.external_id == external_id)
    return (await session.scalars(stmt)).first()


async def first_outcome_at_stage(
    session: AsyncSession, lead_id: uuid.UUID, stage: str
) -> Outcome | None:
    stmt = (
        select(Outcome)
        .where(Outcome.lead_id == lead_id, Outcome.stage == stage)
        .order_by(Outcome.created_at)
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def stage_history(session: AsyncSession, lead_id: uuid.UUID) -> list[str]:
    """The stages reported for a lead, oldest first."""
    stmt = select(Outcome.stage).where(Outcome.lead_id == lead_id).order_by(Outcome.created_at)
    return list(await session.scalars(stmt))


async def get_campaign_cost(session: AsyncSession, utm_campaign: str) -> CampaignCost | None:
    return await session.get(CampaignCost, utm_campaign)


async def campaign_costs(session: AsyncSession) -> list[CampaignCost]:
    return list(await session.scalars(select(CampaignCost)))


async def live_token_integration(session: AsyncSession, token_hash: str) -> Integration | None:
    """The unrevoked token integration whose token hashes to `token_hash`."""
    stmt = select(Integration).where(
        Integration.token_hash == token_hash,
        Integration.kind == "token",
        Integration.revoked_at.is_(None),
    )
    return (await session.scalars(stmt)).first()


async def get_integration(session: AsyncSession, integration_id: uuid.UUID) -> Integration | None:
    return await session.get(Integration, integration_id)


async def integrations(session: AsyncSession) -> list[Integration]:
    """Every integration, the newest first (revoked ones too)."""
    stmt = select(Integration).order_by(Integration.created_at.desc(), Integration.name)
    return list(await session.scalars(stmt))


async def webhook_receipt(
    session: AsyncSession, integration_id: uuid.UUID, webhook_id: str
) -> WebhookReceipt | None:
    return await session.get(WebhookReceipt, (integration_id, webhook_id))
