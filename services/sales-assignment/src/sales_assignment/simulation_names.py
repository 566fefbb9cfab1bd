"""A simulation report's rep names: stored without them, named when read (a rep's name
is personal data; the report keeps rep ids only, and a rep's name shows while its row does)."""

from __future__ import annotations

import uuid
from typing import Any

from sales_assignment import replay_repo
from sales_assignment.assigning import Assigner
from sales_assignment.schemas_lab import RoutingSimulationRequest

NAMED = ("per_rep", "fairness")  # the report's rep lists, named when read


def unnamed(report: dict[str, Any]) -> dict[str, Any]:
    """The report as stored: rep ids only (a rep's name is read from the reps when shown)."""
    return report | {k: [_drop_name(r) for r in report.get(k, [])] for k in NAMED}


def _drop_name(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k != "name"}


async def named(a: Assigner, report: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """The stored report with each rep's name: the rep's (kept while its row exists), a rep
    the draft added by its name there, else its id; sorted by name as routing lists reps."""
    ids = {str(r["rep_id"]) for k in NAMED for r in report.get(k, [])}
    added = {
        str(c["rep_id"]): str(c.get("name") or "added rep")
        for c in request.get("reps", [])
        if c.get("action") == "add" and c.get("rep_id")
    }
    async with a.rt.sessions() as s:
        names = added | await replay_repo.rep_names(s, ids - added.keys())

    def name(rep_id: str) -> str:
        return names.get(rep_id, rep_id)

    def lines(key: str) -> list[dict[str, Any]]:
        named = [{"rep_id": r["rep_id"], "name": name(r["rep_id"])} | r for r in report[key]]
        return sorted(named, key=lambda r: (str(r["name"]).casefold(), str(r["rep_id"])))

    return report | {k: lines(k) for k in NAMED if k in report}


def with_added_ids(request: RoutingSimulationRequest) -> RoutingSimulationRequest:
    """The request with an id for each rep it adds without one: stored with the request,
    the report's lines of that rep are named from it."""
    reps = [
        c.model_copy(update={"rep_id": uuid.uuid4()})
        if c.action == "add" and c.rep_id is None
        else c
        for c in request.reps
    ]
    return request.model_copy(update={"reps": reps})
