"""The dashboard's agreement panel (pure): each promise as a row, green or red."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from feedback.agreement import PromiseName, PromiseStatus, Team

State = Literal["on-track", "off-track", "unknown"]
LABELS: dict[PromiseName, str] = {
    "mqls_per_month": "MQLs in the month",
    "min_acceptance_rate": "MQLs accepted by sales",
    "contact_within_minutes": "First contact after assignment (median)",
}
STATE_TEXT: dict[State, str] = {
    "on-track": "On track",
    "off-track": "Off track",
    "unknown": "Not enough data",
}


@dataclass(frozen=True)
class Row:
    promise: PromiseName
    label: str
    source: str | None
    target: str
    actual: str
    projection: str
    state: State
    state_text: str
    note: str


def shown(value: float | None, promise: PromiseName) -> str:
    """A figure as the reader thinks of it: a count, a percentage, minutes."""
    if value is None:
        return "–"
    if promise == "min_acceptance_rate":
        return f"{value * 100:.1f} %"
    if promise == "contact_within_minutes":
        return f"{value:.0f} min"
    return f"{value:,.0f}"


def row(p: PromiseStatus) -> Row:
    state: State = "unknown" if p.on_track is None else "on-track" if p.on_track else "off-track"
    actual = shown(p.actual, p.promise)
    if p.wilson_lower is not None and p.wilson_upper is not None:
        actual += f" ({shown(p.wilson_lower, p.promise)}–{shown(p.wilson_upper, p.promise)})"
    return Row(
        promise=p.promise,
        label=LABELS[p.promise],
        source=p.source,
        target=shown(p.target, p.promise),
        actual=actual,
        projection=shown(p.projection, p.promise),
        state=state,
        state_text=STATE_TEXT[state],
        note=f"{p.note}; rests on {p.projection_days} day(s)",
    )


def panel(promises: Sequence[PromiseStatus]) -> dict[Team, list[Row]]:
    """The rows for marketing's promises and for sales', in the status' order."""
    teams: dict[Team, list[Row]] = {"marketing": [], "sales": []}
    for p in promises:
        teams[p.team].append(row(p))
    return teams
