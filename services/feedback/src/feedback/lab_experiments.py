"""The lab page's routing experiments: the latest report of each, as sales-assignment
publishes them on `leadflow.lab` (at the start, each minute while running, at the end)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback.models import LabExperiment
from leadflow import lab
from leadflow.schedule import purge_older_than
from leadflow.service import Runtime

log = logging.getLogger(__name__)

LISTED = 20  # the page shows the newest experiments


async def store(rt: Runtime, message: lab.ExperimentReported) -> None:
    """Keep the report unless a later one is kept already (every sales-assignment replica
    publishes the running experiment, and the outbox relays at least once)."""
    async with rt.transaction() as uow:
        s = uow.session
        row = await s.get(LabExperiment, message.experiment_id)
        if row is None:
            row = LabExperiment(experiment_id=message.experiment_id)
            s.add(row)
        elif row.reported_at >= message.reported_at:
            log.debug("experiment report %s older than the kept one", message.experiment_id)
            return
        row.name, row.mode, row.status = message.name, message.mode, message.status
        row.started_at, row.ended_at = message.started_at, message.ended_at
        row.reported_at = message.reported_at
        row.report = message.model_dump(mode="json")


async def recent(rt: Runtime, limit: int = LISTED) -> list[LabExperiment]:
    """The newest experiments first."""
    async with rt.sessions() as s:
        stmt = select(LabExperiment).order_by(LabExperiment.started_at.desc()).limit(limit)
        return list(await s.scalars(stmt))


def rep_ids(rows: list[LabExperiment]) -> set[str]:
    """The ids of the reps the shadow experiments' reports name."""
    return {str(r["rep_id"]) for row in rows for r in _per_rep(row.report)}


def _per_rep(report: dict[str, Any]) -> list[dict[str, Any]]:
    shadow = report.get("shadow") or {}
    return list(shadow.get("per_rep") or [])


def shown(row: LabExperiment, names: dict[str, str]) -> dict[str, Any]:
    """What the page shows of one experiment: its state, its arms' decisions, and in shadow
    the share of decisions the variant would have made otherwise and per rep actual vs
    shadow (named as feedback knows the rep, else by id)."""
    report = row.report
    arms = report.get("arms") or {}
    shadow = report.get("shadow")
    doc: dict[str, Any] = {
        "experiment_id": str(row.experiment_id),
        "name": row.name,
        "mode": row.mode,
        "status": row.status,
        "since": row.started_at,
        "ended_at": row.ended_at,
        "reported_at": row.reported_at,
        "share": report.get("share"),
        "decisions": {arm: int((arms.get(arm) or {}).get("decisions", 0)) for arm in arms},
        "shadow": None,
    }
    if isinstance(shadow, dict):
        decisions = int(shadow.get("decisions") or 0)
        differ = int(shadow.get("would_differ") or 0)
        doc["shadow"] = {
            "decisions": decisions,
            "would_differ": differ,
            "differ_share": differ / decisions if decisions else None,
            "queued_actual": int(shadow.get("queued_actual") or 0),
            "queued_shadow": int(shadow.get("queued_shadow") or 0),
            "per_rep": [
                {
                    "rep_id": str(r["rep_id"]),
                    "name": names.get(str(r["rep_id"])) or str(r["rep_id"]),
                    "actual": int(r.get("actual") or 0),
                    "shadow": int(r.get("shadow") or 0),
                }
                for r in _per_rep(report)
            ],
        }
    return doc


async def _purge(session: AsyncSession, before: datetime) -> int:
    stmt = delete(LabExperiment).where(LabExperiment.reported_at < before)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(rt: Runtime, retention_days: float) -> int:
    """Delete the experiments last reported longer ago than the retention (the lab
    simulations'); a running one is reported each minute, so it stays; how many."""
    return await purge_older_than(rt, retention_days, _purge, what="lab experiments", logger=log)
