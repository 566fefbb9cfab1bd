"""The marketing–sales agreement (pure): each promise's target, actual so far, projection.

Promises, per month (UTC), overall and optionally per source:
- marketing, `mqls_per_month`: leads that became MQLs in the month. The projection is the
  count so far ÷ the days elapsed × the month's days; it is given only once
  `min_projection_days` have elapsed (before, it rests on too little), and for a month that
  is over it is the count itself. On track: projection ≥ target.
- marketing, `min_acceptance_rate`: of the month's MQLs with a verdict, the share accepted
  (`feedback.acceptance`), with its 95 % Wilson interval; no rate below `min_verdicts`
  verdicts. A rate does not accumulate: its projection is the rate so far. On track:
  rate ≥ target.
- sales, `contact_within_minutes`: the median minutes from a lead's first assignment to its
  first contacted-or-later outcome, over the MQLs first assigned in the month. A lead not
  contacted yet counts with the minutes it has waited so far (a lower bound of its time), so
  a lead left waiting counts against the promise as soon as it is late; one rejected before
  any contact is left out (sales answered it, without a call). Needs `min_verdicts` such
  leads. Its projection is the median so far. On track: median ≤ target.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from feedback.acceptance import acceptance
from feedback.funnel import LeadFact

PromiseName = Literal["mqls_per_month", "min_acceptance_rate", "contact_within_minutes"]
Team = Literal["marketing", "sales"]
Status = Literal["measured", "insufficient_data"]


@dataclass(frozen=True)
class Targets:
    """What was promised (None: nothing promised on this one, for a source)."""

    mqls_per_month: int | None = None
    min_acceptance_rate: float | None = None
    contact_within_minutes: int | None = None


@dataclass(frozen=True)
class Month:
    """A calendar month (UTC) and how much of it has passed at `now`."""

    start: datetime
    end: datetime  # exclusive
    days: int  # the month's days (injectable: the tests fix it)
    elapsed_days: float  # 0 before it starts, `days` once it is over

    @property
    def over(self) -> bool:
        return self.elapsed_days >= self.days

    @property
    def whole_days(self) -> int:
        """The days a projection rests on: whole days elapsed."""
        return int(self.elapsed_days)


def month_of(year: int, month: int, days: int, now: datetime) -> Month:
    """The month starting on the 1st of `month`, `days` long, as seen at `now`."""
    start = datetime(year, month, 1, tzinfo=UTC)
    end = start + timedelta(days=days)
    elapsed = (min(max(now, start), end) - start).total_seconds() / 86_400
    return Month(start, end, days, elapsed)


@dataclass(frozen=True)
class PromiseStatus:
    """One promise this month: target, actual so far, projection, and whether on track."""

    promise: PromiseName
    team: Team
    source: str | None
    target: float
    actual: float | None
    projection: float | None
    projection_days: int  # the whole days of the month the figures rest on
    on_track: bool | None  # None: not enough data to say
    status: Status
    sample: int  # MQLs, verdicts or assigned leads behind `actual`
    wilson_lower: float | None = None
    wilson_upper: float | None = None
    note: str = ""


def _within(moment: datetime | None, month: Month) -> bool:
    return moment is not None and month.start <= moment < month.end


def _mqls(
    leads: Sequence[LeadFact], target: int, month: Month, source: str | None, min_days: int
) -> PromiseStatus:
    count = sum(1 for f in leads if _within(f.mql_at, month))
    projection: float | None
    if month.over:
        projection, note = float(count), "the month is over"
    elif month.whole_days < min_days:
        projection = None
        note = f"no projection before {min_days} days of the month have passed"
    else:
        projection = round(count / month.elapsed_days * month.days, 1)
        note = f"{count} in {month.elapsed_days:.1f} days, × {month.days} days"
    on_track = projection >= target if projection is not None else None
    return PromiseStatus(
        "mqls_per_month",
        "marketing",
        source,
        float(target),
        float(count),
        projection,
        month.whole_days,
        on_track,
        "measured" if projection is not None else "insufficient_data",
        count,
        note=note,
    )


def _acceptance(
    leads: Sequence[LeadFact], target: float, month: Month, source: str | None, min_verdicts: int
) -> PromiseStatus:
    a = acceptance((f for f in leads if _within(f.mql_at, month)), min_verdicts)
    on_track = a.rate >= target if a.rate is not None else None
    note = (
        f"{a.accepted} of {a.verdicts} verdicts accepted"
        if a.rate is not None
        else f"{a.verdicts} verdicts, fewer than the {min_verdicts} a rate needs"
    )
    return PromiseStatus(
        "min_acceptance_rate",
        "marketing",
        source,
        target,
        a.rate,
        a.rate,
        month.whole_days,
        on_track,
        a.status,
        a.verdicts,
        a.wilson_lower,
        a.wilson_upper,
        note,
    )


def first_contact(lead: LeadFact) -> datetime | None:
    """When the lead was first contacted or reached a later stage."""
    times = [t for t in (lead.contacted_at, lead.sql_at, lead.won_at, lead.lost_at) if t]
    return min(times) if times else None


def _contact(
    leads: Sequence[LeadFact],
    target: int,
    month: Month,
    source: str | None,
    *,
    min_sample: int,
    now: datetime,
) -> PromiseStatus:
    waits: list[float] = []
    waiting = 0
    for f in leads:
        if f.mql_at is None or f.assigned_at is None or not _within(f.assigned_at, month):
            continue
        contact = first_contact(f)
        if contact is None and f.rejected_at is not None:
            continue  # sales answered it with a rejection, not a call: not waiting any more
        if contact is None:
            waiting += 1
            contact = max(now, f.assigned_at)  # waited so far: a lower bound
        waits.append(max((contact - f.assigned_at).total_seconds(), 0.0) / 60)
    if len(waits) < max(min_sample, 1):
        return PromiseStatus(
            "contact_within_minutes",
            "sales",
            source,
            float(target),
            None,
            None,
            month.whole_days,
            None,
            "insufficient_data",
            len(waits),
            note=f"{len(waits)} assigned MQLs, fewer than {min_sample}",
        )
    median = round(statistics.median(waits), 1)
    note = f"median of {len(waits)} assigned MQLs, {waiting} not contacted yet (time so far)"
    return PromiseStatus(
        "contact_within_minutes",
        "sales",
        source,
        float(target),
        median,
        median,
        month.whole_days,
        median <= target,
        "measured",
        len(waits),
        note=note,
    )


def promises(
    targets: Targets,
    leads: Sequence[LeadFact],
    month: Month,
    now: datetime,
    source: str | None,
    *,
    min_verdicts: int,
    min_projection_days: int,
) -> list[PromiseStatus]:
    """The status of each promise made in `targets` over these leads."""
    out = []
    if targets.mqls_per_month is not None:
        out.append(_mqls(leads, targets.mqls_per_month, month, source, min_projection_days))
    if targets.min_acceptance_rate is not None:
        out.append(_acceptance(leads, targets.min_acceptance_rate, month, source, min_verdicts))
    if targets.contact_within_minutes is not None:
        out.append(
            _contact(
                leads,
                targets.contact_within_minutes,
                month,
                source,
                min_sample=min_verdicts,
                now=now,
            )
        )
    return out


def status(
    overall: Targets,
    per_source: Iterable[tuple[str, Targets]],
    leads: Sequence[LeadFact],
    month: Month,
    now: datetime,
    *,
    min_verdicts: int,
    min_projection_days: int,
) -> list[PromiseStatus]:
    """Every promise: the overall ones, then each source's, marketing's before sales'."""
    found = promises(
        overall,
        leads,
        month,
        now,
        None,
        min_verdicts=min_verdicts,
        min_projection_days=min_projection_days,
    )
    by_source: dict[str | None, list[LeadFact]] = {}
    for f in leads:  # one pass, however many sources have promises
        by_source.setdefault(f.source, []).append(f)
    for source, targets in per_source:
        found += promises(
            targets,
            by_source.get(source, []),
            month,
            now,
            source,
            min_verdicts=min_verdicts,
            min_projection_days=min_projection_days,
        )
    return sorted(found, key=lambda p: (p.team != "marketing", p.source is not None))
