"""Routing experiments on the lab channel: each is published on `leadflow.lab` as it stands
(`io.leadflow.lab.experiment.reported.v1`) when it starts, when it ends and each minute while
it runs, for the dashboard's lab page, which calls no service over HTTP.

Published through the outbox: the start's and end's reports in the transaction that starts
or ends it. Every replica publishes the running one each minute; a repeat is harmless, as
feedback keeps the latest by `reported_at`. Reps go by id only: the page names them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow import lab
from leadflow.uow import UnitOfWork
from sales_assignment import experiment_repo
from sales_assignment.assigning import Assigner
from sales_assignment.experiment_models import ExperimentRow
from sales_assignment.experiments import CONTROL, VARIANT

REPORT_SECONDS = 60.0  # how often the running experiment is published
MAX_REPS = 5_000  # per rep rows one report carries (lab.ShadowSummary's bound)


def _status(row: ExperimentRow) -> str:
    if row.ended_at is None:
        return "running"
    return "promoted" if row.outcome == "promoted" else "ended"


async def message(s: AsyncSession, row: ExperimentRow, now: datetime) -> lab.ExperimentReported:
    """The experiment as it stands: its arms' counts and, in shadow, actual vs shadow."""
    counts = (await experiment_repo.arms(s, [row.experiment_id])).get(row.experiment_id, {})
    arms = {
        arm: {"decisions": counts.get(arm, 0), "leads": counts.get(f"leads:{arm}", 0)}
        for arm in (CONTROL, VARIANT)
    }
    shadow = None
    if row.mode == "shadow":
        summary = await experiment_repo.shadow_summary(s, row.experiment_id)
        per_rep = sorted(summary["per_rep"].items(), key=lambda r: (-max(r[1].values()), str(r[0])))
        shadow = lab.ShadowSummary(
            decisions=summary["decisions"],
            would_differ=summary["would_differ"],
            queued_actual=summary["queued"]["actual"],
            queued_shadow=summary["queued"]["shadow"],
            per_rep=[lab.ShadowRep(rep_id=rep_id, **n) for rep_id, n in per_rep[:MAX_REPS]],
        )
    return lab.ExperimentReported.model_validate(
        {
            "experiment_id": row.experiment_id,
            "name": row.name,
            "mode": row.mode,
            "share": row.share,
            "status": _status(row),
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "reported_at": now,
            "arms": arms,
            "shadow": shadow,
        }
    )


async def stage(a: Assigner, uow: UnitOfWork, row: ExperimentRow) -> None:
    """Publish the experiment as it stands with the unit of work's other writes."""
    lab.stage(uow, await message(uow.session, row, a.clock()), source=a.rt.source)


async def report_running(a: Assigner) -> bool:
    """One periodic pass: publish the running experiment, if any; whether there was one."""
    async with a.rt.transaction() as uow:
        row = await experiment_repo.running(uow.session)
        if row is None:
            return False
        await stage(a, uow, row)
    return True
