"""The lab page's simulations: asked for here (stored and published in one transaction) and
reported by the service that ran them over `leadflow.lab`."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedback import lab_experiments, lab_view
from feedback.models import LabSimulation, LeadFacts
from leadflow import lab
from leadflow.schedule import purge_older_than
from leadflow.service import Runtime

log = logging.getLogger(__name__)

LISTED = 50  # the page lists the newest simulations; older ones stay reachable by link
FINAL = frozenset({"done", "failed"})
MAX_NAMED = 2_000  # rep ids looked up for one report (per rep, moved, fairness)


async def request_simulation(
    rt: Runtime,
    kind: lab.Kind,
    request: dict[str, Any],
    *,
    requested_by: str,
    now: datetime,
) -> uuid.UUID:
    """Keep a simulation as `requested` and publish its request, in one transaction."""
    simulation_id = uuid.uuid4()
    message = lab.SimulationRequested(
        simulation_id=simulation_id,
        kind=kind,
        request=request,
        requested_by=requested_by,
        requested_at=now,
    )
    async with rt.transaction() as uow:
        uow.session.add(
            LabSimulation(
                simulation_id=simulation_id,
                kind=kind,
                status="requested",
                request=request,
                requested_by=requested_by,
                requested_at=now,
            )
        )
        lab.stage(uow, message, source=rt.source)
    return simulation_id


def _created_at(report: dict[str, Any], default: datetime) -> datetime:
    """When a simulation started elsewhere was created, as its report says (else `default`)."""
    try:
        created = datetime.fromisoformat(str(report["created_at"]))
    except (KeyError, ValueError):
        return default
    return created if created.utcoffset() is not None else default


async def store_report(rt: Runtime, message: lab.SimulationReported) -> None:
    """Keep a report (without rep names): the simulation asked for here, or one started
    through an API. Once a simulation is done or failed, later reports are ignored: a
    request delivered twice is answered twice (the second maybe `failed: expired`)."""
    report = lab_view.without_rep_names(message.report)
    async with rt.transaction() as uow:
        s = uow.session
        row = await s.get(LabSimulation, message.simulation_id)
        if row is None:
            request = report.get("request")
            s.add(
                LabSimulation(
                    simulation_id=message.simulation_id,
                    kind=message.kind,
                    status=message.status,
                    request=request if isinstance(request, dict) else {},
                    report=report,
                    requested_by=None,
                    requested_at=_created_at(report, message.finished_at),
                    finished_at=message.finished_at,
                )
            )
            return
        if row.kind != message.kind:
            log.warning("lab report %s of another kind ignored", message.simulation_id)
            return
        if row.status in FINAL:
            if message.status in FINAL:
                log.info("lab report %s after its end ignored", message.simulation_id)
            return  # the first final report stands; a late `running` changes nothing
        row.status = message.status
        row.report = report
        row.finished_at = message.finished_at


async def handle(rt: Runtime, message: lab.LabMessage) -> None:
    """The follower's handler: keep reports, the experiments' too (requests are the other
    services' business)."""
    if isinstance(message, lab.SimulationReported):
        await store_report(rt, message)
    elif isinstance(message, lab.ExperimentReported):
        await lab_experiments.store(rt, message)


async def recent(rt: Runtime, limit: int = LISTED) -> list[LabSimulation]:
    """The newest simulations first."""
    async with rt.sessions() as s:
        rows = await s.scalars(
            select(LabSimulation).order_by(LabSimulation.requested_at.desc()).limit(limit)
        )
        return list(rows)


async def find(rt: Runtime, simulation_id: uuid.UUID) -> LabSimulation | None:
    async with rt.sessions() as s:
        return await s.get(LabSimulation, simulation_id)


async def rep_names(rt: Runtime, rep_ids: set[str]) -> dict[str, str]:
    """The names of these reps as their latest assignment feedback folded gave them."""
    ids = set()
    for text in sorted(rep_ids)[:MAX_NAMED]:
        try:
            ids.add(uuid.UUID(text))
        except ValueError:
            continue
    if not ids:
        return {}
    latest = (
        select(LeadFacts.rep_id, func.max(LeadFacts.assigned_at).label("at"))
        .where(LeadFacts.rep_id.in_(ids), LeadFacts.rep_name.is_not(None))
        .group_by(LeadFacts.rep_id)
        .subquery()
    )
    stmt = select(LeadFacts.rep_id, LeadFacts.rep_name).join(
        latest, and_(LeadFacts.rep_id == latest.c.rep_id, LeadFacts.assigned_at == latest.c.at)
    )
    async with rt.sessions() as s:
        rows = (await s.execute(stmt)).all()
    return {str(rep_id): name for rep_id, name in rows if name}


async def _purge(session: AsyncSession, before: datetime) -> int:
    stmt = delete(LabSimulation).where(LabSimulation.requested_at < before)
    result = await session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(rt: Runtime, retention_days: float) -> int:
    """Delete the simulations asked for longer ago than the retention (the journey's), and
    the experiments last reported that long ago; how many."""
    purged = await purge_older_than(rt, retention_days, _purge, what="lab simulations", logger=log)
    return purged + await lab_experiments.purge(rt, retention_days)
