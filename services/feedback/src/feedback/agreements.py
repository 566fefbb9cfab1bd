"""The agreement's use cases: store it, read it, and its status for a month."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

from feedback import agreement, agreement_repo, agreement_view
from feedback.agreement_schemas import AgreementIn, AgreementOut
from feedback.handlers import to_fact
from leadflow.service import Runtime


@dataclass(frozen=True)
class Status:
    """A month's status of every promise, and what it was computed against."""

    month: agreement.Month
    as_of: datetime
    promises: list[agreement.PromiseStatus]


async def save(rt: Runtime, body: AgreementIn) -> AgreementOut:
    """Replace the agreement (one row; no event, nothing staged: a plain transaction)."""
    async with rt.sessions() as s, s.begin():
        row = await agreement_repo.put_agreement(s, body.model_dump(mode="json"), datetime.now(UTC))
        return AgreementOut.model_validate({**row.doc, "updated_at": row.updated_at})


async def load(rt: Runtime) -> AgreementOut | None:
    """The agreement, or None when none was made."""
    async with rt.sessions() as s:
        row = await agreement_repo.get_agreement(s)
    if row is None:
        return None
    return AgreementOut.model_validate({**row.doc, "updated_at": row.updated_at})


def targets(terms: AgreementIn) -> tuple[agreement.Targets, list[tuple[str, agreement.Targets]]]:
    """The overall targets and each source's, as the pure status reads them."""
    overall = agreement.Targets(
        terms.mqls_per_month, terms.min_acceptance_rate, terms.contact_within_minutes
    )
    per_source = [
        (source, agreement.Targets(**t.model_dump())) for source, t in terms.per_source.items()
    ]
    return overall, per_source


async def status(
    rt: Runtime,
    terms: AgreementIn,
    year: int,
    month: int,
    *,
    min_verdicts: int,
    min_projection_days: int,
    now: datetime | None = None,
) -> Status:
    """Each promise's target, actual so far, projection and on_track for the month."""
    now = now or datetime.now(UTC)
    period = agreement.month_of(year, month, calendar.monthrange(year, month)[1], now)
    async with rt.sessions() as s:
        rows = await agreement_repo.facts_of_month(s, period.start, period.end)
    overall, per_source = targets(terms)
    found = agreement.status(
        overall,
        per_source,
        [to_fact(r) for r in rows],
        period,
        now,
        min_verdicts=min_verdicts,
        min_projection_days=min_projection_days,
    )
    return Status(period, now, found)


@dataclass(frozen=True)
class Panel:
    """The dashboard's agreement panel: this month's promises per team, and its month."""

    month: str
    days_elapsed: float
    days: int
    teams: dict[agreement.Team, list[agreement_view.Row]]


async def panel(rt: Runtime, *, min_verdicts: int, min_projection_days: int) -> Panel | None:
    """This month's panel, or None when no agreement was made."""
    terms = await load(rt)
    if terms is None:
        return None
    now = datetime.now(UTC)
    found = await status(
        rt,
        terms,
        now.year,
        now.month,
        min_verdicts=min_verdicts,
        min_projection_days=min_projection_days,
        now=now,
    )
    return Panel(
        month=f"{now.year:04d}-{now.month:02d}",
        days_elapsed=found.month.elapsed_days,
        days=found.month.days,
        teams=agreement_view.panel(found.promises),
    )
