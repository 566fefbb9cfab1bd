"""sales-assignment's SQL: every query lives here; handlers and routes call these."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import and_, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from sales_assignment.models import (
    AWAITING_ACCEPT,
    OPEN_STATUSES,
    AccountOwnerRow,
    AssignmentRow,
    DeliveryRow,
    EndpointRow,
    HistoryRow,
    RepRow,
    RRStateRow,
    RuleSetRow,
)

# Deliveries still to be attempted: never tried yet, or failed with a retry scheduled.
RETRYING = ("pending", "failed")
# One lock for every change to who owns which lead: round-robin weights, capacity counts and
# the lead's row move together, so two replicas never double-assign or lose an rr update.
_ROUTING_LOCK_ID = 0x5A1E5


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def lock_routing(session: AsyncSession) -> None:
    """Serialise assignment changes until commit (PostgreSQL); SQLite has one writer already."""
    if _postgres(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ROUTING_LOCK_ID})


# ---------------------------------------------------------------- reps


async def live_reps(session: AsyncSession) -> list[RepRow]:
    stmt = select(RepRow).where(RepRow.deleted_at.is_(None)).order_by(RepRow.created_at)
    return list(await session.scalars(stmt))


async def get_rep(
    session: AsyncSession, rep_id: uuid.UUID, *, deleted: bool = False
) -> RepRow | None:
    rep = await session.get(RepRow, rep_id)
    return rep if rep is not None and (deleted or rep.deleted_at is None) else None


async def open_counts(session: AsyncSession) -> dict[uuid.UUID, int]:
    """Open leads per rep: assigned, reassigned or accepted and not closed."""
    stmt = (
        select(AssignmentRow.rep_id, func.count())
        .where(AssignmentRow.status.in_(OPEN_STATUSES), AssignmentRow.rep_id.is_not(None))
        .group_by(AssignmentRow.rep_id)
    )
    return {rep_id: n for rep_id, n in (await session.execute(stmt)).all() if rep_id}


async def expire_sla_of(session: AsyncSession, rep_id: uuid.UUID, now: datetime) -> None:
    """Make the rep's unaccepted leads due for re-routing now (the rep is gone)."""
    await session.execute(
        update(AssignmentRow)
        .where(AssignmentRow.rep_id == rep_id, AssignmentRow.status.in_(AWAITING_ACCEPT))
        .values(sla_due_at=now)
    )


async def reps_by_email(session: AsyncSession, emails: Sequence[str]) -> dict[str, uuid.UUID]:
    """Live reps with one of these (lower-case) emails: email → rep_id."""
    if not emails:
        return {}
    stmt = select(RepRow.email, RepRow.rep_id).where(
        RepRow.deleted_at.is_(None), RepRow.email.in_(list(emails))
    )
    return {row.email: row.rep_id for row in (await session.execute(stmt)).all()}


# ---------------------------------------------------------------- routing policy


async def active_rules(session: AsyncSession) -> RuleSetRow | None:
    """The newest rules version, or None while no rules were ever stored (default rule only)."""
    stmt = select(RuleSetRow).order_by(RuleSetRow.version.desc()).limit(1)
    return await session.scalar(stmt)


async def rules_history(session: AsyncSession, limit: int) -> list[RuleSetRow]:
    stmt = select(RuleSetRow).order_by(RuleSetRow.version.desc()).limit(limit)
    return list(await session.scalars(stmt))


async def add_rules(
    session: AsyncSession, rules: list[dict[str, object]], now: datetime
) -> RuleSetRow:
    """Store a new version (caller holds the routing lock, so versions never collide)."""
    latest = await session.scalar(select(func.max(RuleSetRow.version)))
    row = RuleSetRow(version=(latest or 0) + 1, rules=rules, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def account_owners(session: AsyncSession) -> list[AccountOwnerRow]:
    return list(await session.scalars(select(AccountOwnerRow).order_by(AccountOwnerRow.domain)))


async def get_account(session: AsyncSession, domain: str) -> AccountOwnerRow | None:
    return await session.get(AccountOwnerRow, domain, populate_existing=True)


async def delete_account(session: AsyncSession, domain: str) -> bool:
    row = await session.get(AccountOwnerRow, domain)
    if row is None:
        return False
    await session.delete(row)
    return True


# ---------------------------------------------------------------- assignments


async def get_assignment(session: AsyncSession, lead_id: uuid.UUID) -> AssignmentRow | None:
    return await session.get(AssignmentRow, lead_id, populate_existing=True)


async def assigned_lead_ids(session: AsyncSession, lead_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these leads already have an assignment row (in any status)."""
    stmt = select(AssignmentRow.lead_id).where(AssignmentRow.lead_id.in_(lead_ids))
    return set(await session.scalars(stmt))


async def history(session: AsyncSession, lead_id: uuid.UUID) -> list[HistoryRow]:
    stmt = select(HistoryRow).where(HistoryRow.lead_id == lead_id).order_by(HistoryRow.id)
    return list(await session.scalars(stmt))


async def tried_reps(session: AsyncSession, lead_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(HistoryRow.rep_id).where(
        HistoryRow.lead_id == lead_id,
        HistoryRow.event.in_(("assigned", "reassigned")),
        HistoryRow.rep_id.is_not(None),
    )
    return {rep_id for rep_id in await session.scalars(stmt) if rep_id is not None}


async def queued(session: AsyncSession, limit: int) -> list[AssignmentRow]:
    """Queued leads, oldest first: they were waiting longest."""
    stmt = (
        select(AssignmentRow)
        .where(AssignmentRow.status == "queued")
        .order_by(AssignmentRow.queued_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def overdue(session: AsyncSession, now: datetime, limit: int) -> list[AssignmentRow]:
    """Assignments not accepted within their SLA, the most overdue first."""
    stmt = (
        select(AssignmentRow)
        .where(AssignmentRow.status.in_(AWAITING_ACCEPT), AssignmentRow.sla_due_at < now)
        .order_by(AssignmentRow.sla_due_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


# ---------------------------------------------------------------- round robin


async def rr_state(session: AsyncSession) -> dict[str, dict[str, int]]:
    rows = await session.scalars(select(RRStateRow))
    return {row.pool: dict(row.weights) for row in rows}


async def save_rr_state(
    session: AsyncSession, state: Mapping[str, Mapping[str, int]], now: datetime
) -> None:
    """Write the pools whose weights changed (caller holds the routing lock)."""
    rows = {row.pool: row for row in await session.scalars(select(RRStateRow))}
    for pool, weights in state.items():
        row = rows.get(pool)
        if row is None:
            session.add(RRStateRow(pool=pool, weights=dict(weights), updated_at=now))
        elif row.weights != weights:
            row.weights = dict(weights)
            row.updated_at = now


# ---------------------------------------------------------------- webhooks


async def subscribed(session: AsyncSession, event_type: str) -> list[EndpointRow]:
    """Endpoints that want `event_type`, disabled ones too: their messages wait, held, for a
    re-enable (filtered here: JSON lists differ by dialect)."""
    rows = await session.scalars(select(EndpointRow))
    return [row for row in rows if event_type in row.event_types]


async def get_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID, *, lock: bool = False
) -> EndpointRow | None:
    """The endpoint; `lock` holds its row until commit (PostgreSQL) against lost updates."""
    return await session.get(
        EndpointRow, endpoint_id, populate_existing=True, with_for_update=lock or None
    )


async def list_endpoints(session: AsyncSession) -> list[EndpointRow]:
    return list(await session.scalars(select(EndpointRow).order_by(EndpointRow.created_at)))


async def get_delivery(session: AsyncSession, delivery_id: str) -> DeliveryRow | None:
    return await session.get(DeliveryRow, delivery_id, populate_existing=True)


async def deliveries_of(
    session: AsyncSession, endpoint_id: uuid.UUID, status: str | None, limit: int
) -> list[DeliveryRow]:
    stmt = select(DeliveryRow).where(DeliveryRow.endpoint_id == endpoint_id)
    if status is not None:
        stmt = stmt.where(DeliveryRow.status == status)
    stmt = stmt.order_by(DeliveryRow.created_at.desc(), DeliveryRow.id).limit(limit)
    return list(await session.scalars(stmt))


async def lead_deliveries(session: AsyncSession, lead_id: uuid.UUID) -> list[DeliveryRow]:
    return list(await session.scalars(select(DeliveryRow).where(DeliveryRow.lead_id == lead_id)))


async def revive_undelivered(session: AsyncSession, endpoint_id: uuid.UUID, now: datetime) -> int:
    """Make every undelivered message of an endpoint due now with a fresh attempt budget."""
    result = await session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.endpoint_id == endpoint_id,
            DeliveryRow.status.in_((*RETRYING, "dead")),
        )
        .values(status="pending", attempts=0, next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease_until: datetime
) -> Sequence[tuple[DeliveryRow, EndpointRow]]:
    """Due deliveries, leased until `lease_until` so no other replica sends them meanwhile.

    A delivery waits while an earlier message of the same lead to the same endpoint is still
    being retried: receivers see a lead's messages in order.
    """
    earlier = aliased(DeliveryRow)
    blocked = exists().where(
        and_(
            earlier.endpoint_id == DeliveryRow.endpoint_id,
            earlier.lead_id == DeliveryRow.lead_id,
            earlier.seq < DeliveryRow.seq,
            earlier.status.in_(RETRYING),
        )
    )
    stmt = (
        select(DeliveryRow, EndpointRow)
        .join(EndpointRow, EndpointRow.id == DeliveryRow.endpoint_id)
        .where(
            DeliveryRow.status.in_(RETRYING),
            DeliveryRow.next_attempt_at <= now,
            EndpointRow.enabled.is_(True),
            ~blocked,
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at)
        .limit(limit)
    )
    if _postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=DeliveryRow)
    pairs = [(d, e) for d, e in (await session.execute(stmt)).all()]
    for delivery, _ in pairs:
        delivery.next_attempt_at = lease_until
    return pairs
