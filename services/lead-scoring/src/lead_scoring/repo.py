"""lead-scoring's SQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lead_scoring.model import LearnedModel
from lead_scoring.models import (
    ERASED_UNSCORED,
    LeadScore,
    ModelState,
    RuleSetVersion,
    ValueSupport,
)
from lead_scoring.support import Learned, Tally
from leadflow.events import Lead
from leadflow.sql import any_of
from leadflow.uow import UnitOfWork

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
    # populate_existing: a row loaded earlier in this transaction may since have been
    # changed by the bulk statements below.
    stmt = (
        select(LeadScore)
        .where(LeadScore.lead_id == lead_id)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


@dataclass(frozen=True, slots=True)
class ScoreState:
    """What scoring a lead again needs to know of its stored row."""

    touches: int
    qualified: bool  # an MQL: qualified_at is set, after its latest rejection if any
    erased: bool
    lead: Lead | dict[str, Any] | None = None  # the lead as stored (a touch never rewrites it)
    rejected_at: datetime | None = None  # the latest rejection (`recycling`)
    recycled_at: datetime | None = None  # ... when it sent the lead back to marketing


_STATE_COLUMNS = select(
    LeadScore.lead_id,
    LeadScore.touches,
    LeadScore.qualified_at,
    LeadScore.erased_at.is_not(None),
    LeadScore.lead,
    LeadScore.rejected_at,
    LeadScore.recycled_at,
).with_for_update()
_STATES = _STATE_COLUMNS.where(any_of(LeadScore.lead_id, "ids"))


async def score_states(
    session: AsyncSession, lead_ids: set[uuid.UUID]
) -> dict[uuid.UUID, ScoreState]:
    """The stored state of these leads' rows (locked for this transaction on PostgreSQL)."""
    # An ORM statement: changes pending in the session are flushed first.
    rows = await session.execute(_STATES, {"ids": list(lead_ids)})
    return {
        lead_id: ScoreState(touches, _mql(qualified, rejected), erased, lead, rejected, recycled)
        for lead_id, touches, qualified, erased, lead, rejected, recycled in rows
    }


def _mql(qualified_at: datetime | None, rejected_at: datetime | None) -> bool:
    """Whether the lead is an MQL now: qualified, and not rejected since."""
    return qualified_at is not None and (rejected_at is None or qualified_at > rejected_at)


_scores = cast(Table, LeadScore.__table__)
# Executed with one parameter set per row: its keys are the columns set, plus b_lead_id.
_rescore = update(_scores).where(_scores.c.lead_id == bindparam("b_lead_id"))


def insert_scores(uow: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """Stage new score rows: inserted at commit with the batch's outbox rows (PostgreSQL:
    one statement for both), or at `uow.flush()`. Every row has a value for each of:
    lead_id, lead, touches, score, qualified, threshold, factors, model_version, scored_at,
    qualified_at."""
    uow.stage(_scores, rows)


async def rescore(session: AsyncSession, rows: dict[uuid.UUID, dict[str, Any]]) -> None:
    """Update stored rows, one statement per set of columns changed."""
    by_columns: dict[frozenset[str], list[dict[str, Any]]] = {}
    for lead_id, values in rows.items():
        by_columns.setdefault(frozenset(values), []).append({"b_lead_id": lead_id, **values})
    for params in by_columns.values():
        await session.execute(_rescore, params)


async def model_revision(session: AsyncSession) -> int:
    rev = await session.scalar(select(ModelState.revision).where(ModelState.name == MODEL))
    return int(rev or 0)


async def load_model(session: AsyncSession, *, for_update: bool = False) -> ModelState | None:
    # populate_existing: an object of the row loaded earlier in this transaction (scoring
    # reads it unlocked) is refreshed from the row as committed since, or `teach` would save
    # its revision + 1 over another replica's and lose that replica's change.
    stmt = (
        select(ModelState).where(ModelState.name == MODEL).execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).first()


async def save_model(session: AsyncSession, state: ModelState | None, model: LearnedModel) -> int:
    """Save the model as its next revision: its v1 doc, and its support beside it."""
    now = datetime.now(UTC)
    if state is None:
        state = ModelState(name=MODEL, revision=0)
        session.add(state)
    state.revision += 1
    state.doc = model.to_doc()
    state.leads = dict(model.leads)
    state.min_support = model.min_support
    state.updated_at = now
    return state.revision


async def shared_verdicts(
    session: AsyncSession, lead_id: uuid.UUID, features: Collection[str]
) -> dict[str, Tally]:
    """Per feature ("attribute=value") the model does not keep yet, the verdicts of the
    other judged leads with that value (`support`)."""
    if not features:
        return {}
    stmt = (
        select(ValueSupport.feature, ValueSupport.stage, func.count())
        .where(ValueSupport.feature.in_(features), ValueSupport.lead_id != lead_id)
        .group_by(ValueSupport.feature, ValueSupport.stage)
    )
    tallies = dict.fromkeys(features, Tally())
    for feature, stage, n in await session.execute(stmt):
        tallies[feature] = tallies[feature].counted(stage, n)
    return tallies


async def keep_support(
    session: AsyncSession, lead_id: uuid.UUID, stage: str, learned: Learned
) -> None:
    """Count the lead towards its values still too rare (once per value and lead); values
    now learned need no count any more."""
    if learned.common:
        await session.execute(delete(ValueSupport).where(ValueSupport.feature.in_(learned.common)))
    if learned.rare:
        stmt = select(ValueSupport.feature).where(
            ValueSupport.lead_id == lead_id, ValueSupport.feature.in_(learned.rare)
        )
        counted = set(await session.scalars(stmt))
        session.add_all(
            ValueSupport(feature=f, lead_id=lead_id, stage=stage)
            for f in sorted(learned.rare - counted)
        )


async def support_tallies(session: AsyncSession) -> dict[str, Tally]:
    """Every value's verdicts in value_support (one per lead): what `support.cut` needs."""
    stmt = select(ValueSupport.feature, ValueSupport.stage, func.count()).group_by(
        ValueSupport.feature, ValueSupport.stage
    )
    tallies: dict[str, Tally] = {}
    for feature, stage, n in await session.execute(stmt):
        tallies[feature] = tallies.get(feature, Tally()).counted(stage, n)
    return tallies


async def forget_values(session: AsyncSession, features: Collection[str]) -> None:
    """The rows of values the model learned: it counts their leads itself from now on."""
    if features:
        await session.execute(delete(ValueSupport).where(ValueSupport.feature.in_(features)))


async def forget_support(session: AsyncSession, lead_id: uuid.UUID) -> None:
    """An erased lead's typed values go, and it no longer counts towards any."""
    await session.execute(delete(ValueSupport).where(ValueSupport.lead_id == lead_id))


SIMULATION_CHUNK = 1000  # rows a scoring simulation holds at once, whatever its window
_PAST_LEADS = (
    select(
        LeadScore.lead_id,
        LeadScore.lead,
        LeadScore.facts,
        LeadScore.touches,
        LeadScore.erased_at.is_not(None),
        LeadScore.outcome,
        LeadScore.rejected_at,
        LeadScore.won_amount,
        LeadScore.won_currency,
    )
    .where(LeadScore.model_version != ERASED_UNSCORED)
    .order_by(LeadScore.scored_at, LeadScore.lead_id)
)


async def past_leads(
    session: AsyncSession, start: datetime, end: datetime, *, chunk: int = SIMULATION_CHUNK
) -> AsyncIterator[Sequence[Row[Any]]]:
    """What a scoring simulation reads of the leads last scored in [start, end), oldest
    first, streamed from a server-side cursor `chunk` rows at a time (only reads)."""
    stmt = _PAST_LEADS.where(LeadScore.scored_at >= start, LeadScore.scored_at < end)
    result = await session.stream(stmt.execution_options(yield_per=chunk))
    async for part in result.partitions(chunk):
        yield part
