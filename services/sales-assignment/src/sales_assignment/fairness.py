"""The fairness ledger's use case: per rep, eligible decisions, expected and actual leads.

The lines are written with each routing decision (`staging.Staged`), from the candidates the
decision recorded (`leadflow.fairness.decision_lines`): today's team never enters into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from leadflow.fairness import RepFairness, ordered
from sales_assignment import fairness_repo
from sales_assignment.assigning import Assigner

MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True, slots=True)
class Ledger:
    """The answer: the window, its decisions, when the ledger began, and each rep."""

    start: datetime
    end: datetime
    decisions: int
    since: datetime | None
    reps: list[RepFairness]
    active: dict[str, bool]  # per rep id: active and not retired today


def utc(value: datetime) -> datetime:
    """A bound without a zone is read as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def window_errors(start: datetime, end: datetime) -> list[tuple[str, str]]:
    """What is wrong with the window [start, end), as (field, message) pairs."""
    if end < start:
        return [("to", "must not be before from")]
    if end - start > MAX_WINDOW:
        return [("to", f"the window is at most {MAX_WINDOW.days} days long")]
    return []


async def ledger(a: Assigner, start: datetime, end: datetime) -> Ledger:
    """The ledger of the decisions made in [start, end)."""
    async with a.rt.sessions() as s:
        totals = await fairness_repo.rep_totals(s, start, end)
        rows = await fairness_repo.reps_named(s, list(totals))
        decided = await fairness_repo.decisions(s, start, end)
        began = await fairness_repo.since(s)
    active: dict[str, bool] = {}
    for row in rows:
        totals[row.rep_id].name = row.name
        active[str(row.rep_id)] = row.active and row.deleted_at is None
    return Ledger(start, end, decided, began, ordered(totals.values()), active)
