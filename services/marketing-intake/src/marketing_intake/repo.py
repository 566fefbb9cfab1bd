"""marketing-intake's SQL: every query lives here, routes and handlers call these."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.sql import lock_keys
from leadflow.uow import UnitOfWork
from marketing_intake.models import ApiKey, IdempotentResponse, StoredLead, WebForm


async def lock_people(session: AsyncSession, dedupe_keys: Iterable[str]) -> None:
    """Serialise captures of these people (PostgreSQL); SQLite already has one writer."""
    await lock_keys(session, dedupe_keys)


async def recent_leads(
    session: AsyncSession, dedupe_keys: Collection[str], since: datetime
) -> list[StoredLead]:
    """The live leads of these people touched since `since`, newest first."""
    stmt = (
        select(StoredLead)
        .where(
            StoredLead.dedupe_key.in_(dedupe_keys),
            StoredLead.erased_at.is_(None),
            StoredLead.last_touch_at >= since,
        )
        .order_by(StoredLead.captured_at.desc())
    )
    return list(await session.scalars(stmt))


async def submissions_of(
    session: AsyncSession, lead_ids: Collection[uuid.UUID], key_ids: Collection[uuid.UUID]
) -> list[StoredLead]:
    """The live rows these keys keep of these leads, captured by another key or a form."""
    stmt = select(StoredLead).where(
        StoredLead.touch_of.in_(lead_ids),
        StoredLead.captured_by.in_(key_ids),
        StoredLead.erased_at.is_(None),
    )
    return list(await session.scalars(stmt))


async def submissions_to(session: AsyncSession, lead_id: uuid.UUID) -> list[StoredLead]:
    """Every other key's submission of this lead (for its erasure)."""
    return list(await session.scalars(select(StoredLead).where(StoredLead.touch_of == lead_id)))


def insert_leads(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
    """Stage new lead rows (`Seen.row()`; no ORM unit of work per lead): inserted at commit
    with the group's outbox rows (PostgreSQL: one statement for both)."""
    uow.stage(cast(Table, StoredLead.__table__), rows)


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


async def forget_stale(session: AsyncSession, owner: str, key: str, cutoff: datetime) -> None:
    """Forget the answer under this key if it was remembered before `cutoff` (one row: the
    background purge takes the other stale ones; a fresh answer stays)."""
    await session.execute(
        delete(IdempotentResponse).where(
            IdempotentResponse.owner == owner,
            IdempotentResponse.key == key,
            IdempotentResponse.created_at < cutoff,
        )
    )


async def forget_some_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` answers remembered before `cutoff` (oldest first); how many."""
    oldest = (
        select(IdempotentResponse.id)
        .where(IdempotentResponse.created_at < cutoff)
        .order_by(IdempotentResponse.created_at)
        .limit(limit)
    )
    result = await session.execute(
        delete(IdempotentResponse).where(IdempotentResponse.id.in_(oldest.scalar_subquery()))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get_key(session: AsyncSession, key_id: uuid.UUID) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def list_forms(session: AsyncSession) -> list[WebForm]:
    return list(await session.scalars(select(WebForm).order_by(WebForm.created_at, WebForm.id)))


async def get_form(session: AsyncSession, form_id: uuid.UUID) -> WebForm | None:
    return await session.get(WebForm, form_id)


async def delete_form(session: AsyncSession, form_id: uuid.UUID) -> bool:
    result = await session.execute(delete(WebForm).where(WebForm.id == form_id))
    return bool(getattr(result, "rowcount", 0))
