"""The SQL of routing experiments: the experiments, their decisions and their summaries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.uow import UnitOfWork
from sales_assignment import repo
from sales_assignment.experiment_models import ExperimentDecisionRow, ExperimentRow
from sales_assignment.experiments import RR_PREFIX
from sales_assignment.models import RepRow, RRStateRow, RuleSetRow

D = ExperimentDecisionRow
PURGE_BATCH = 10_000  # decisions one retention transaction deletes at most


async def running(session: AsyncSession) -> ExperimentRow | None:
    """The experiment that has not ended (at most one: started under the routing lock)."""
    stmt = select(ExperimentRow).where(ExperimentRow.ended_at.is_(None)).limit(1)
    return await session.scalar(stmt)


async def get(session: AsyncSession, experiment_id: uuid.UUID) -> ExperimentRow | None:
    return await session.get(ExperimentRow, experiment_id, populate_existing=True)


async def by_name(session: AsyncSession, name: str) -> ExperimentRow | None:
    return await session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))


async def listed(session: AsyncSession, limit: int) -> list[ExperimentRow]:
    stmt = select(ExperimentRow).order_by(ExperimentRow.started_at.desc()).limit(limit)
    return list(await session.scalars(stmt))


def add_decisions(uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
    """Stage decision rows, inserted at commit with the routing transaction's other rows."""
    if rows:
        repo.add_rows(uow, ExperimentDecisionRow, rows)


async def forget_pools(session: AsyncSession) -> None:
    """Drop every experiment's round-robin pools (none runs any more; caller holds the
    routing lock)."""
    await session.execute(delete(RRStateRow).where(RRStateRow.pool.startswith(RR_PREFIX)))


async def control_changes(session: AsyncSession, row: ExperimentRow) -> int:
    """Rules versions stored while the experiment ran, the one it was promoted to aside:
    the control arm's rules changed under it."""
    stmt = select(func.count()).where(RuleSetRow.version > row.base_version)
    if row.promoted_version is not None:
        stmt = stmt.where(RuleSetRow.version < row.promoted_version)
    if row.ended_at is not None:
        stmt = stmt.where(RuleSetRow.created_at <= row.ended_at)
    return int(await session.scalar(stmt) or 0)


async def purge_decisions(session: AsyncSession, before: datetime) -> int:
    """Delete up to `PURGE_BATCH` decisions of experiments that ended before `before`; how
    many. A running experiment (no end) keeps its decisions however old they are."""
    ended = select(ExperimentRow.experiment_id).where(ExperimentRow.ended_at < before)
    oldest = select(D.id).where(D.experiment_id.in_(ended)).limit(PURGE_BATCH)
    stmt = delete(D).where(D.id.in_(oldest)).execution_options(synchronize_session=False)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def arms(
    session: AsyncSession, experiment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """Decisions per experiment and arm, and distinct leads per arm (`leads:<arm>`)."""
    stmt = (
        select(D.experiment_id, D.arm, func.count(), func.count(D.lead_id.distinct()))
        .where(D.experiment_id.in_(list(experiment_ids)))
        .group_by(D.experiment_id, D.arm)
    )
    found: dict[uuid.UUID, dict[str, int]] = {}
    for experiment_id, arm, decisions, leads in (await session.execute(stmt)).all():
        found.setdefault(experiment_id, {}).update({arm: decisions, f"leads:{arm}": leads})
    return found


async def shadow_summary(session: AsyncSession, experiment_id: uuid.UUID) -> dict[str, Any]:
    """A shadow experiment's decisions, those the variant would have decided otherwise,
    and per rep: decisions that gave them the lead, actually and in the shadow."""
    mine = D.experiment_id == experiment_id
    decisions, differ = (
        await session.execute(
            select(func.count(), func.count().filter(D.differs.is_(True))).where(mine)
        )
    ).one()
    per_rep: dict[uuid.UUID, dict[str, int]] = {}
    queued: dict[str, int] = {}
    for column, key in ((D.rep_id, "actual"), (D.shadow_rep_id, "shadow")):
        stmt = select(column, func.count()).where(mine).group_by(column)
        for rep_id, n in (await session.execute(stmt)).all():
            if rep_id is None:  # queued
                queued[key] = n
            else:
                per_rep.setdefault(rep_id, {"actual": 0, "shadow": 0})[key] = n
    queued = {"actual": queued.get("actual", 0), "shadow": queued.get("shadow", 0)}
    return {"decisions": decisions, "would_differ": differ, "per_rep": per_rep, "queued": queued}


async def decisions(session: AsyncSession, experiment_id: uuid.UUID) -> list[ExperimentDecisionRow]:
    """Every decision of an experiment, oldest first (tests and exports)."""
    stmt = select(D).where(D.experiment_id == experiment_id).order_by(D.id)
    return list(await session.scalars(stmt))


async def rep_names(session: AsyncSession, rep_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of these reps, retired ones too."""
    if not rep_ids:
        return {}
    stmt = select(RepRow.rep_id, RepRow.name).where(RepRow.rep_id.in_(list(rep_ids)))
    return dict((await session.execute(stmt)).all())
