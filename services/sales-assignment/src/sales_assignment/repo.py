"""sales-assignment's SQL (webhooks' in `webhook_repo`): handlers and routes call these."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.uow import Database, UnitOfWork
from sales_assignment.models import (
    AWAITING_ACCEPT,
    OPEN_STATUSES,
    AccountOwnerRow,
    AssignmentRow,
    Base,
    HistoryRow,
    RepRow,
    RoutingLockRow,
    RRStateRow,
    RuleSetRow,
)


async def lock_routing(session: AsyncSession) -> int:
    """Take the routing lock until commit and count a routing change; the new generation.

    One row lock for every change to who owns which lead: round-robin weights, capacity
    counts and the lead's row move together, so two replicas never double-assign or lose an
    rr update. Each call bumps the generation, so a routing team saved at generation g is
    current for the transaction whose lock returns g + 1 (see `team.TeamCache`).
    """
    stmt = (
        update(RoutingLockRow)
        .where(RoutingLockRow.id == 1)
        .values(generation=RoutingLockRow.generation + 1)
        .returning(RoutingLockRow.generation)
        .execution_options(synchronize_session=False)
    )
    return int((await session.execute(stmt)).scalar_one())


@contextlib.asynccontextmanager
async def routing_change(db: Database) -> AsyncIterator[UnitOfWork]:
    """A transaction under the routing lock (`lock_routing`), for a change that does not
    need the generation: reps, rules, owners, experiments, an assignment."""
    async with db.transaction() as uow:
        await lock_routing(uow.session)
        yield uow


def add_rows(
    uow: UnitOfWork,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    replace: bool = False,
) -> None:
    """Stage new rows, no ORM unit of work: inserted at commit with the transaction's other
    new rows and its outbox rows (`UnitOfWork.stage`; `replace`: an upsert)."""
    uow.stage(cast(Table, model.__table__), rows, replace=replace)


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


async def awaiting_of(session: AsyncSession, rep_id: uuid.UUID) -> list[AssignmentRow]:
    """The rep's leads not accepted yet (assigned or reassigned), oldest assignment first."""
    stmt = (
        select(AssignmentRow)
        .where(AssignmentRow.rep_id == rep_id, AssignmentRow.status.in_(AWAITING_ACCEPT))
        .order_by(AssignmentRow.assigned_at, AssignmentRow.lead_id)
    )
    return list(await session.scalars(stmt))


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


async def recycled(
    session: AsyncSession, lead_ids: set[uuid.UUID]
) -> dict[uuid.UUID, AssignmentRow]:
    """Which of these leads were closed by a rejection with recycle (and not erased since):
    their next qualification starts a new assignment cycle."""
    stmt = select(AssignmentRow).where(
        AssignmentRow.lead_id.in_(lead_ids),
        AssignmentRow.status == "closed",
        AssignmentRow.recycled_at.is_not(None),
        AssignmentRow.erased_at.is_(None),
    )
    return {row.lead_id: row for row in await session.scalars(stmt)}


async def history(session: AsyncSession, lead_id: uuid.UUID) -> list[HistoryRow]:
    stmt = select(HistoryRow).where(HistoryRow.lead_id == lead_id).order_by(HistoryRow.id)
    return list(await session.scalars(stmt))


async def reps_by_history(
    session: AsyncSession, lead_ids: Collection[uuid.UUID]
) -> tuple[dict[uuid.UUID, set[uuid.UUID]], dict[uuid.UUID, set[uuid.UUID]]]:
    """Per lead: the reps it was ever given to, and the reps who declined it."""
    stmt = select(HistoryRow.lead_id, HistoryRow.rep_id, HistoryRow.event).where(
        HistoryRow.lead_id.in_(list(lead_ids)),
        HistoryRow.event.in_(("assigned", "reassigned", "declined")),
        HistoryRow.rep_id.is_not(None),
    )
    tried: dict[uuid.UUID, set[uuid.UUID]] = {lead_id: set() for lead_id in lead_ids}
    declined: dict[uuid.UUID, set[uuid.UUID]] = {lead_id: set() for lead_id in lead_ids}
    for lead_id, rep_id, event in (await session.execute(stmt)).all():
        if rep_id is not None:
            (declined if event == "declined" else tried)[lead_id].add(rep_id)
    return tried, declined


async def decline_of(
    session: AsyncSession, lead_id: uuid.UUID, rep_id: uuid.UUID
) -> HistoryRow | None:
    """The rep's decline of the lead, if they declined it."""
    stmt = (
        select(HistoryRow)
        .where(
            HistoryRow.lead_id == lead_id,
            HistoryRow.event == "declined",
            HistoryRow.rep_id == rep_id,
        )
        .order_by(HistoryRow.id)
        .limit(1)
    )
    return await session.scalar(stmt)


async def queued(
    session: AsyncSession,
    limit: int,
    after: tuple[datetime | None, uuid.UUID] | None = None,
) -> list[AssignmentRow]:
    """Queued leads, oldest first (they were waiting longest); `after`: the page after the
    lead of that (queued_at, lead_id)."""
    A = AssignmentRow
    stmt = select(A).where(A.status == "queued", A.erased_at.is_(None))
    if after is not None:  # keyset: (queued_at, lead_id) past the previous page's last
        t, lead_id = after
        stmt = stmt.where(or_(A.queued_at > t, and_(A.queued_at == t, A.lead_id > lead_id)))
    stmt = stmt.order_by(A.queued_at, A.lead_id).limit(limit)
    return list(await session.scalars(stmt))


async def queue_stats(session: AsyncSession) -> list[tuple[str, int, datetime | None]]:
    """Per rule that queued them: how many leads wait in the queue, and the oldest's time."""
    stmt = (
        select(AssignmentRow.rule, func.count(), func.min(AssignmentRow.queued_at))
        .where(AssignmentRow.status == "queued", AssignmentRow.erased_at.is_(None))
        .group_by(AssignmentRow.rule)
    )
    return [(rule or "default", n, oldest) for rule, n, oldest in await session.execute(stmt)]


async def overdue(session: AsyncSession, now: datetime, limit: int) -> list[AssignmentRow]:
    """Assignments not accepted within their SLA, the most overdue first."""
    stmt = (
        select(AssignmentRow)
        .where(
            AssignmentRow.status.in_(AWAITING_ACCEPT),
            AssignmentRow.sla_due_at < now,
            AssignmentRow.erased_at.is_(None),  # erasure closes it; never routed again
        )
        .order_by(AssignmentRow.sla_due_at)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


# ---------------------------------------------------------------- round robin


async def rr_state(session: AsyncSession) -> dict[str, dict[str, int]]:
    rows = await session.scalars(select(RRStateRow))
    return {row.pool: dict(row.weights) for row in rows}


def save_rr_state(
    uow: UnitOfWork,
    state: Mapping[str, Mapping[str, int]],
    stored: Mapping[str, Mapping[str, int]],
    now: datetime,
) -> None:
    """Write the pools whose weights differ from `stored`, what the table holds (caller
    holds the routing lock): new pools and changed ones alike, at commit with the
    transaction's other new rows (an upsert)."""
    changed = [
        {"pool": pool, "weights": dict(weights), "updated_at": now}
        for pool, weights in state.items()
        if stored.get(pool) != weights
    ]
    add_rows(uow, RRStateRow, changed, replace=True)
