"""marketing-intake's SQL: every query lives here, routes and handlers call these."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from marketing_intake.models import ApiKey, IdempotentResponse, StoredLead


async def lock_person(session: AsyncSession, dedupe_key: str) -> None:
    """Serialise captures of one person (PostgreSQL); SQLite already has one writer."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": dedupe_key})


async def recent_lead(session: AsyncSession, dedupe_key: str, since: datetime) -> StoredLead | None:
    stmt = (
        select(StoredLead)
        .where(
            StoredLead.dedupe_key == dedupe_key,
            StoredLead.erased_at.is_(None),
            StoredLead.last_touch_at >= since,
        )
        .order_by(StoredLead.captured_at.desc())
        .limit(1)
    )
    return (await session.scalars(stmt)).first()


async def get_lead(session: AsyncSession, lead_id: uuid.UUID) -> StoredLead | None:
    return await session.get(StoredLead, lead_id)


async def key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


async def remembered(session: AsyncSession, owner: str, key: str) -> IdempotentResponse | None:
    stmt = select(IdempotentResponse).where(
        IdempotentResponse.owner == owner, IdempotentResponse.key == key
    )
    return (await session.scalars(stmt)).first()


async def forget_before(session: AsyncSession, cutoff: datetime) -> None:
    await session.execute(delete(IdempotentResponse).where(IdempotentResponse.created_at < cutoff))
