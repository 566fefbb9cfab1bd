"""The sales-ops page's figures: the fairness ledger of the assignments feedback consumed.

Each `leads.assigned` event carries its decision's candidates (with the weights at that
moment); the journey keeps them, and `leadflow.fairness` reads them as sales-assignment's
own ledger does. Events from before the weights were recorded are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedback import fairness_repo
from leadflow.fairness import RepFairness, decision_lines, ordered
from leadflow.service import Runtime


@dataclass(frozen=True, slots=True)
class FairnessView:
    """Per rep figures, the decisions counted, and the older ones left out."""

    reps: list[RepFairness]
    decisions: int
    unweighted: int


class Ledger:
    """The figures so far, tallied one journey entry at a time (no entry is kept)."""

    def __init__(self) -> None:
        self.reps: dict[str, RepFairness] = {}
        self.decisions = 0
        self.unweighted = 0

    def add(self, data: dict[str, Any]) -> None:
        """Count one `leads.assigned` journey entry (in the order they were made)."""
        rep = data.get("rep") or {}
        lines = decision_lines(data.get("candidates") or [], rep.get("rep_id"))
        if lines is None or not data.get("candidates"):
            self.unweighted += 1
            return
        self.decisions += 1
        for line in lines:
            self.reps.setdefault(line.rep_id, RepFairness(line.rep_id)).add(line)

    def view(self) -> FairnessView:
        return FairnessView(ordered(self.reps.values()), self.decisions, self.unweighted)


def fairness_of(assignments: Iterable[dict[str, Any]]) -> FairnessView:
    """The ledger of these journey entries of `leads.assigned` (pure)."""
    ledger = Ledger()
    for data in assignments:
        ledger.add(data)
    return ledger.view()


async def fairness_view(rt: Runtime, start: datetime, end: datetime) -> FairnessView:
    """The ledger of the assignments made in [start, end), tallied as they stream in."""
    ledger = Ledger()
    async with rt.sessions() as s:
        async for part in fairness_repo.assignments_between(s, start, end):
            for data in part:
                ledger.add(data)
    return ledger.view()
