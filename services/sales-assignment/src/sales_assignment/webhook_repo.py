"""sales-assignment's SQL for webhooks: endpoints, and the deliveries the worker sends."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sales_assignment.models import DeliveryRow, EndpointRow

# Deliveries still to be attempted: never tried yet, or failed with a retry scheduled.
RETRYING = ("pending", "failed")


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


async def deliveries_by_id(session: AsyncSession, ids: Collection[str]) -> dict[str, DeliveryRow]:
    rows = await session.scalars(select(DeliveryRow).where(DeliveryRow.id.in_(list(ids))))
    return {row.id: row for row in rows}


async def mark_delivered(
    session: AsyncSession,
    outcomes: Sequence[tuple[str, int | None, str | None]],
    endpoint_ids: Collection[uuid.UUID],
    now: datetime,
) -> int:
    """Record deliveries (id, status code, error) as delivered, and their endpoints' runs of
    failures as ended, without loading a row: one UPDATE per distinct answer (nearly always
    one) and one for the endpoints. A delivery no longer to be attempted (recorded meanwhile,
    its lease having run out elsewhere) is left as it is. Returns how many were recorded."""
    recorded = 0
    answers: dict[tuple[int | None, str | None], list[str]] = {}
    for delivery_id, status_code, error in outcomes:
        answers.setdefault((status_code, error), []).append(delivery_id)
    for (status_code, error), ids in answers.items():
        done = await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(ids), DeliveryRow.status.in_(RETRYING))
            .values(
                status="delivered",
                attempts=DeliveryRow.attempts + 1,
                last_status_code=status_code,
                last_error=error,
                delivered_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        recorded += int(getattr(done, "rowcount", 0) or 0)
    await session.execute(
        update(EndpointRow)
        .where(EndpointRow.id.in_(list(endpoint_ids)), EndpointRow.consecutive_failures != 0)
        .values(consecutive_failures=0)
        .execution_options(synchronize_session=False)
    )
    return recorded


async def endpoints_by_id(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, EndpointRow]:
    rows = await session.scalars(select(EndpointRow).where(EndpointRow.id.in_(list(ids))))
    return {row.id: row for row in rows}


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


async def drop_undelivered(session: AsyncSession, lead_id: uuid.UUID) -> list[str]:
    """Delete the lead's messages not delivered yet (erasure); their ids."""
    stmt = (
        delete(DeliveryRow)
        .where(DeliveryRow.lead_id == lead_id, DeliveryRow.status != "delivered")
        .returning(DeliveryRow.id)
        .execution_options(synchronize_session=False)
    )
    return list(await session.scalars(stmt))


async def purge_deliveries(session: AsyncSession, before: datetime) -> int:
    """Delete delivered, failed and dead deliveries last attempted before `before` (their
    `next_attempt_at`: the last attempt's lease, or a retry not due until then); how many.
    The (status, next_attempt_at) index finds them."""
    result = await session.execute(
        delete(DeliveryRow)
        .where(
            DeliveryRow.status.in_(("delivered", "failed", "dead")),
            DeliveryRow.next_attempt_at < before,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


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
    # The first message still to be sent of each lead to each endpoint; only it may go. One
    # pass over the retrying rows, rather than a look for earlier ones per due row (which
    # the planner can turn into every due row against every retrying row).
    first = (
        select(
            DeliveryRow.endpoint_id,
            DeliveryRow.lead_id,
            func.min(DeliveryRow.seq).label("seq"),
        )
        .where(DeliveryRow.status.in_(RETRYING))
        .group_by(DeliveryRow.endpoint_id, DeliveryRow.lead_id)
        .cte("first_unsent")
    )
    stmt = (
        select(DeliveryRow, EndpointRow)
        .join(
            first,
            and_(
                first.c.endpoint_id == DeliveryRow.endpoint_id,
                first.c.lead_id == DeliveryRow.lead_id,
                first.c.seq == DeliveryRow.seq,
            ),
        )
        .join(EndpointRow, EndpointRow.id == DeliveryRow.endpoint_id)
        .where(
            DeliveryRow.status.in_(RETRYING),
            DeliveryRow.next_attempt_at <= now,
            EndpointRow.enabled.is_(True),
        )
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=DeliveryRow)
    pairs = [(d, e) for d, e in (await session.execute(stmt)).all()]
    for delivery, _ in pairs:
        delivery.next_attempt_at = lease_until
    return pairs
