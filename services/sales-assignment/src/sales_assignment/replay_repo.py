"""The replay record's SQL: a window's decisions in order, in chunks, and their teams."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sales_assignment.experiment_models import ExperimentRow
from sales_assignment.models import HistoryRow, RepRow, RuleSetRow
from sales_assignment.replay_inputs import Checkpoint, Decision, RepId, Snapshot, rep_id
from sales_assignment.replay_models import CheckpointRow, DecisionRow, SimulationRow, SnapshotRow
from sales_assignment.staging import DECISIONS

D = DecisionRow
Key = tuple[int, int]  # (generation, step): the decisions' order


async def span(session: AsyncSession, start: datetime, end: datetime) -> tuple[Key, Key] | None:
    """The first and last decision to read for [start, end): from the first decision of the
    team that made the window's first one (its counts and weights start there)."""
    in_window = and_(D.decided_at >= start, D.decided_at < end)
    first = (
        await session.execute(
            select(D.generation, D.step, D.checkpoint_id)
            .where(in_window)
            .order_by(D.generation, D.step)
            .limit(1)
        )
    ).first()
    if first is None:
        return None
    last = (
        await session.execute(
            select(D.generation, D.step)
            .where(in_window)
            .order_by(D.generation.desc(), D.step.desc())
            .limit(1)
        )
    ).one()
    team_start = (
        await session.execute(
            select(D.generation, D.step)
            .where(D.checkpoint_id == first.checkpoint_id)
            .order_by(D.generation, D.step)
            .limit(1)
        )
    ).one()
    return (team_start.generation, team_start.step), (last.generation, last.step)


async def chunk(session: AsyncSession, after: Key | None, last: Key, limit: int) -> list[Row[Any]]:
    """Up to `limit` decisions past `after` (inclusive from the start when None), to `last`."""
    # The plain range on generation lets the index bound the scan; the OR pins the steps.
    stmt = select(*D.__table__.columns).where(
        D.generation <= last[0],
        or_(D.generation < last[0], and_(D.generation == last[0], D.step <= last[1])),
    )
    if after is not None:
        stmt = stmt.where(
            D.generation >= after[0],
            or_(D.generation > after[0], and_(D.generation == after[0], D.step > after[1])),
        )
    return list(await session.execute(stmt.order_by(D.generation, D.step).limit(limit)))


async def chunks(
    session: AsyncSession, first: Key, last: Key, size: int
) -> AsyncIterator[list[Row[Any]]]:
    """The decisions from `first` to `last`, `size` at a time."""
    after: Key | None = (first[0], first[1] - 1)
    while True:
        rows = await chunk(session, after, last, size)
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = (rows[-1].generation, rows[-1].step)


def decision(row: Row[Any]) -> Decision:
    """A stored decision (a `routing_decisions` row) as the replay reads it."""

    def rep(value: object) -> RepId | None:
        return rep_id(str(value)) if value is not None else None

    return Decision(
        checkpoint_id=row.checkpoint_id,
        decided_at=row.decided_at,
        lead_id=row.lead_id,
        kind=row.kind,
        facts=row.facts,
        owner_id=rep(row.owner_id),
        prev_id=rep(row.prev_id),
        exclude=frozenset(rep_id(r) for r in row.exclude) if row.exclude is not None else None,
        barred=frozenset(rep_id(r) for r in row.barred or ()),
        rep_id=rep(row.rep_id),
        rule=row.rule,
    )


async def checkpoints(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Checkpoint]:
    rows = await session.scalars(select(CheckpointRow).where(CheckpointRow.id.in_(list(ids))))
    return {r.id: Checkpoint(r.id, r.snapshot_id, tuple(r.counts), dict(r.rr)) for r in rows}


async def snapshots(session: AsyncSession, ids: Collection[str]) -> dict[str, Snapshot]:
    rows = await session.scalars(select(SnapshotRow).where(SnapshotRow.id.in_(list(ids))))
    return {
        r.id: Snapshot.of(
            r.id, {"reps": r.reps, "rules": r.rules, "rules_version": r.rules_version}
        )
        for r in rows
    }


async def count_in(session: AsyncSession, start: datetime, end: datetime) -> int:
    """How many decisions were recorded in [start, end) (the index on decided_at)."""
    where = and_(D.decided_at >= start, D.decided_at < end)
    return int(await session.scalar(select(func.count()).select_from(D).where(where)) or 0)


async def unrecorded(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[int, list[str]]:
    """Routing decisions of [start, end) made before the record began (from the history):
    how many, and a few of their leads."""
    began = await session.scalar(select(func.min(D.decided_at)))
    until = min(end, began) if began is not None else end
    where = and_(HistoryRow.event.in_(DECISIONS), HistoryRow.at >= start, HistoryRow.at < until)
    n = int(await session.scalar(select(func.count()).where(where)) or 0)
    if not n:
        return 0, []
    examples = await session.scalars(select(HistoryRow.lead_id).where(where).limit(5))
    return n, [str(lead_id) for lead_id in examples]


async def rule_sets(session: AsyncSession) -> list[list[dict[str, Any]]]:
    """Every rule set the record and routing know (`rules.rule_docs` documents): one per
    rules version the snapshots hold, every stored version, and every experiment's."""
    S = SnapshotRow
    one_each = select(func.min(S.id)).group_by(S.rules_version)
    sets = list(await session.scalars(select(S.rules).where(S.id.in_(one_each))))
    sets += list(await session.scalars(select(RuleSetRow.rules)))
    sets += list(await session.scalars(select(ExperimentRow.rules)))
    return sets


async def lead_decisions(session: AsyncSession, lead_id: uuid.UUID) -> list[DecisionRow]:
    """The recorded routing decisions of one lead, to change (erasure)."""
    return list(await session.scalars(select(D).where(D.lead_id == lead_id)))


async def rep_names(session: AsyncSession, rep_ids: Collection[str]) -> dict[str, str]:
    """Names of these reps, retired ones too."""
    ids = [uuid.UUID(r) for r in rep_ids]
    rows = await session.execute(select(RepRow.rep_id, RepRow.name).where(RepRow.rep_id.in_(ids)))
    return {str(rep_id): name for rep_id, name in rows}


PURGE_TEAMS = 50  # teams (checkpoints and their decisions) one retention transaction deletes


async def purge_teams(session: AsyncSession, before: datetime) -> int:
    """Delete up to `PURGE_TEAMS` teams whose every decision was made before `before`, with
    their decisions; how many teams. Whole teams only: a team's later decisions replay from
    its checkpoint through its earlier ones."""
    C = CheckpointRow
    later = select(D.id).where(D.checkpoint_id == C.id, D.decided_at >= before).exists()
    stmt = select(C.id).where(C.created_at < before, ~later).limit(PURGE_TEAMS)
    teams = list(await session.scalars(stmt))
    if teams:
        gone = {"synchronize_session": False}
        await session.execute(delete(D).where(D.checkpoint_id.in_(teams)).execution_options(**gone))
        await session.execute(delete(C).where(C.id.in_(teams)).execution_options(**gone))
    return len(teams)


# A process trusts for a day that a snapshot it stored is still there (`team.TeamCache`) and
# stores it again, renewing its created_at, at its next use after that: a snapshot no
# checkpoint names is deleted only when stored longer ago than the retention and this.
SNAPSHOT_MARGIN = timedelta(days=2)


async def purge_snapshots(session: AsyncSession, before: datetime) -> int:
    """Delete the team snapshots no checkpoint names any more (their teams purged), stored
    before `before` (less the margin); how many."""
    S = SnapshotRow
    named = select(CheckpointRow.id).where(CheckpointRow.snapshot_id == S.id).exists()
    stmt = delete(S).where(S.created_at < before - SNAPSHOT_MARGIN, ~named)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_simulations(session: AsyncSession, before: datetime) -> int:
    """Delete the routing simulations (request and report) started before `before`, but a
    running one; how many."""
    S = SimulationRow
    stmt = delete(S).where(S.created_at < before, S.status != "running")
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
