"""The sales-ops page's figures: the fairness ledger of the assignments feedback consumed.

Each `leads.assigned` event carries its decision's candidates (with the weights at that
moment); the journey keeps them, and `leadflow.fairness` reads them as sales-assignment's
own ledger does. Events from before the weights were recorded are counted apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedback import fairness_repo
from leadflow.fairness import Line, RepFairness, decision_lines, tally
from leadflow.service import Runtime


@dataclass(frozen=True, slots=True)
class FairnessView:
    """Per rep figures, the decisions counted, and the older ones left out."""

    reps: list[RepFairness]
    decisions: int
    unweighted: int


def fairness_of(assignments: list[dict[str, Any]]) -> FairnessView:
    """The ledger of these journey entries of `leads.assigned` (pure)."""
    decisions: list[list[Line]] = []
    unweighted = 0
    for data in assignments:
        rep = data.get("rep") or {}
        lines = decision_lines(data.get("candidates") or [], rep.get("rep_id"))
        if lines is None or not data.get("candidates"):
            unweighted += 1
            continue
        decisions.append(lines)
    return FairnessView(tally(decisions), len(decisions), unweighted)


async def fairness_view(rt: Runtime, start: datetime, end: datetime) -> FairnessView:
    """The ledger of the assignments made in [start, end)."""
    async with rt.sessions() as s:
        rows = await fairness_repo.assignments_between(s, start, end)
    return fairness_of(rows)
