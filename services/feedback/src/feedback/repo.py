"""feedback's SQL: every query lives here or, for folding events, in `feedback.fold_sql`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import (
    CampaignCost,
    DashboardSession,
    Integration,
    JourneyEvent,
    LeadFacts,
    Outcome,
    WebhookReceipt,
)
from leadflow.events import LeadAssigned
from leadflow.sql import lock_keys


def lock_key(lead_id: uuid.UUID) -> str:
    """The advisory lock that serialises work on one lead (PostgreSQL)."""
    return f"feedback:{lead_id}"


async def lock_lead(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """Serialise work on one lead (PostgreSQL); SQLite already has one writer."""
    await lock_keys(session, [lock_key(lead_id)])


async def lead_erased(session: AsyncSession, lead_id: uuid.UUID) -> bool:
    """Whether this service has handled the lead's erasure."""
    stmt = select(LeadFacts.erased_at).where(LeadFacts.lead_id == lead_id)
    return (await session.scalar(stmt)) is not None


async def purge_journey(session: AsyncSession, before: datetime) -> int:
    """Delete the journey rows of what happened before `before`; how many."""
    stmt = delete(JourneyEvent).where(JourneyEvent.occurred_at < before)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def journey(session: AsyncSession, lead_id: uuid.UUID) -> list[JourneyEvent]:
    """The lead's events, in the order they happened (arrival order among equal times)."""
    stmt = (
        select(JourneyEvent)
        .where(JourneyEvent.lead_id == lead_id)
        .order_by(JourneyEvent.occurred_at, JourneyEvent.id)
    )
    return list(await session.scalars(stmt))


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


async def outcome_by_external_id(
    session: AsyncSession, scope: str, external_id: str
) -> Outcome | None:
    """The outcome reported with this `external_id` in the sender's id space (`scope`)."""
    stmt = select(Outcome).where(
        Outcome.external_scope == scope, Outcome.external_id == external_id
    )
    return (await session.scalars(stmt)).first()


async def assigned_rep(session: AsyncSession, lead_id: uuid.UUID) -> uuid.UUID | None:
    """The rep the lead is assigned to now (its latest `leads.assigned`, unless a rejection
    closed that assignment since), if any."""
    stmt = select(LeadFacts.rep_id).where(
        LeadFacts.lead_id == lead_id, LeadFacts.assignment_closed.is_(False)
    )
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


async def latest_rejection(session: AsyncSession, lead_id: uuid.UUID) -> Outcome | None:
    """The lead's latest reported rejection, if any."""
    stmt = (
        select(Outcome)
        .where(Outcome.lead_id == lead_id, Outcome.stage == "rejected")
        .order_by(Outcome.created_at.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def assigned_after(session: AsyncSession, lead_id: uuid.UUID, moment: datetime) -> bool:
    """Whether the journey holds an assignment of the lead made after `moment` (a new cycle);
    `moment` is a server time (a stored outcome's `created_at`), never a sender's."""
    stmt = select(JourneyEvent.id).where(
        JourneyEvent.lead_id == lead_id,
        JourneyEvent.ce_type == LeadAssigned.ce_type,
        JourneyEvent.occurred_at > moment,
    )
    return (await session.scalars(stmt.limit(1))).first() is not None


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


async def dashboard_session(session: AsyncSession, session_hash: str) -> DashboardSession | None:
    return await session.get(DashboardSession, session_hash)


async def delete_dashboard_session(session: AsyncSession, session_hash: str) -> None:
    await session.execute(
        delete(DashboardSession).where(DashboardSession.session_hash == session_hash)
    )


async def delete_expired_dashboard_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
