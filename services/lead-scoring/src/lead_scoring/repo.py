"""lead-scoring's SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lead_scoring.models import LeadScore, ModelState, RuleSetVersion

MODEL = "default"


async def active_rules(session: AsyncSession) -> RuleSetVersion | None:
    stmt = select(RuleSetVersion).order_by(RuleSetVersion.version.desc()).limit(1)
    return (await session.scalars(stmt)).first()


async def rule_history(session: AsyncSession) -> list[RuleSetVersion]:
    stmt = select(RuleSetVersion).order_by(RuleSetVersion.version.desc())
    return list(await session.scalars(stmt))


async def next_rules_version(session: AsyncSession) -> int:
    current = await session.scalar(select(func.max(RuleSetVersion.version)))
    return int(current or 0) + 1


async def get_score(
    session: AsyncSession, lead_id: uuid.UUID, *, for_update: bool = False
) -> LeadScore | None:
    stmt = select(LeadScore).where(LeadScore.lead_id == lead_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def get_scores(
    session: AsyncSession, lead_ids: set[uuid.UUID], *, for_update: bool = False
) -> dict[uuid.UUID, LeadScore]:
    stmt = select(LeadScore).where(LeadScore.lead_id.in_(lead_ids))
    if for_update:
        stmt = stmt.with_for_update()
    return {row.lead_id: row for row in await session.scalars(stmt)}


async def model_revision(session: AsyncSession) -> int:
    rev = await session.scalar(select(ModelState.revision).where(ModelState.name == MODEL))
    return int(rev or 0)


async def load_model(session: AsyncSession, *, for_update: bool = False) -> ModelState | None:
    stmt = select(ModelState).where(ModelState.name == MODEL)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def save_model(session: AsyncSession, state: ModelState | None, doc: dict[str, Any]) -> int:
    now = datetime.now(UTC)
    if state is None:
        session.add(ModelState(name=MODEL, revision=1, doc=doc, updated_at=now))
        return 1
    state.revision += 1
    state.doc = doc
    state.updated_at = now
    return state.revision
