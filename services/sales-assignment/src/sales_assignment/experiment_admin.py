"""The use cases behind the routing-experiment API: start, read and end an experiment.

Starting and ending run under the routing lock, so every replica's next routing transaction
sees the change (the lock's generation reloads its team), and at most one experiment runs.
Promoting stores the variant as the next rules version exactly as PUT /v1/routing/rules
does (`policy_admin.store_rules`: the reps it names checked, the queue drained). The variant
was written against the rules active at the start: if they changed since, promoting would
silently drop those changes, so it waits for the admin to name the active version seen.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sales_assignment import experiment_repo, experiment_reports, policy_admin, repo
from sales_assignment.admin import Conflict, NotFound
from sales_assignment.assigning import Assigner
from sales_assignment.experiment_models import ExperimentRow
from sales_assignment.experiments import CONTROL, VARIANT
from sales_assignment.rules import RulesInvalid, rule_docs, validate_rules


class ExperimentInvalid(ValueError):
    """A field of the experiment that cannot be; `field` names it (`share`)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


async def start(
    a: Assigner, name: str, mode: str, share: float | None, doc: object
) -> ExperimentRow:
    """Start an experiment (RulesInvalid, ExperimentInvalid; Conflict if one runs or the
    name is taken)."""
    if mode == "split" and share is None:
        raise ExperimentInvalid("share", "a split experiment needs a share: 0 < share < 1")
    if mode == "shadow" and share is not None:
        raise ExperimentInvalid("share", "a shadow experiment takes no share: it routes nothing")
    rules = validate_rules(doc)
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        policy_admin.check_named_reps(rules, {r.rep_id for r in await repo.live_reps(s)})
        running = await experiment_repo.running(s)
        if running is not None:
            raise Conflict(f"Experiment {running.name!r} is running: end it first.")
        if await experiment_repo.by_name(s, name) is not None:
            raise Conflict(f"An experiment named {name!r} exists: feedback groups by name.")
        active = await repo.active_rules(s)
        row = ExperimentRow(
            experiment_id=uuid.uuid4(),
            name=name,
            mode=mode,
            share=share,
            rules=rule_docs(rules),
            base_version=active.version if active is not None else 0,
            started_at=a.clock(),
        )
        s.add(row)
        await s.flush()
        if mode == "split":
            await a.drain_queue(uow)  # the variant's rules may take a waiting lead
        await experiment_reports.stage(a, uow, row)  # the lab page's, with the start
    return row


async def end(
    a: Assigner, experiment_id: uuid.UUID, promote: bool, over_version: int | None = None
) -> ExperimentRow:
    """End the experiment; with `promote` its rules become the next active version
    (NotFound; Conflict if it ended already, names a rep retired since, or the active rules
    changed since the start and `over_version` does not confirm the active version)."""
    async with repo.routing_change(a.rt) as uow:
        s = uow.session
        row = await experiment_repo.get(s, experiment_id)
        if row is None:
            raise NotFound("experiment")
        if row.ended_at is not None:
            raise Conflict(f"Experiment {row.name!r} ended at {row.ended_at.isoformat()}.")
        if promote:
            _check_promotable(row.base_version, await _active_version(s), over_version)
        row.ended_at, row.outcome = a.clock(), "promoted" if promote else "ended"
        await experiment_repo.forget_pools(s)
        await s.flush()
        if not promote:
            await a.drain_queue(uow)  # leads the variant queued go by the active rules now
            await experiment_reports.stage(a, uow, row)  # the lab page's, with the end
            return row
        try:  # stored and the queue drained as PUT /v1/routing/rules does
            stored = await policy_admin.store_rules(a, uow, validate_rules(row.rules))
        except RulesInvalid as exc:
            raise Conflict(f"The variant cannot become the active rules: {exc}.") from exc
        row.promoted_version = stored.version
        await experiment_reports.stage(a, uow, row)
    return row


def _check_promotable(base: int, active: int, over_version: int | None) -> None:
    """Conflict unless the active rules are the start's, or `over_version` names them."""
    if over_version == active or (over_version is None and active == base):
        return
    if active != base:
        raise Conflict(
            f"The rules changed since the experiment started (v{base} → v{active}): promoting "
            f"replaces v{active} with the variant alone. Read v{active}, then end with "
            f'{{"promote": true, "over_version": {active}}} to promote anyway.'
        )
    raise Conflict(f"The active rules are v{active}, not v{over_version}: read them again.")


async def _active_version(s: AsyncSession) -> int:
    active = await repo.active_rules(s)
    return active.version if active is not None else 0


async def view(a: Assigner, experiment_id: uuid.UUID) -> dict[str, Any]:
    """The experiment with its counts per arm and, in shadow, live vs variant (NotFound)."""
    async with a.rt.sessions() as s:
        row = await experiment_repo.get(s, experiment_id)
        if row is None:
            raise NotFound("experiment")
        return (await _views(s, [row]))[0]


async def views(a: Assigner, limit: int) -> list[dict[str, Any]]:
    """The experiments, newest first, each as `view` shows it."""
    async with a.rt.sessions() as s:
        return await _views(s, await experiment_repo.listed(s, limit))


async def _views(s: AsyncSession, rows: Sequence[ExperimentRow]) -> list[dict[str, Any]]:
    arms = await experiment_repo.arms(s, [row.experiment_id for row in rows])
    active = await _active_version(s)
    shown = []
    for row in rows:
        counts = arms.get(row.experiment_id, {})
        doc: dict[str, Any] = {
            "experiment_id": row.experiment_id,
            "name": row.name,
            "mode": row.mode,
            "share": row.share,
            "rules": row.rules,
            "base_version": row.base_version,
            "active_version": active,
            "control_changed": await experiment_repo.control_changes(s, row) > 0,
            "status": "running" if row.ended_at is None else "ended",
            "started_at": row.started_at,
            "ended_at": row.ended_at,
            "outcome": row.outcome,
            "promoted_version": row.promoted_version,
            "arms": {
                arm: {"decisions": counts.get(arm, 0), "leads": counts.get(f"leads:{arm}", 0)}
                for arm in (CONTROL, VARIANT)
            },
            "shadow": await _shadow(s, row) if row.mode == "shadow" else None,
        }
        shown.append(doc)
    return shown


async def _shadow(s: AsyncSession, row: ExperimentRow) -> dict[str, Any]:
    summary = await experiment_repo.shadow_summary(s, row.experiment_id)
    names = await experiment_repo.rep_names(s, list(summary["per_rep"]))
    per_rep = [
        {"rep_id": rep_id, "name": names.get(rep_id)} | counts
        for rep_id, counts in summary["per_rep"].items()
    ]
    per_rep.sort(key=lambda r: (-max(r["actual"], r["shadow"]), str(r["rep_id"])))
    return {
        "decisions": summary["decisions"],
        "would_differ": summary["would_differ"],
        "queued_actual": summary["queued"]["actual"],
        "queued_shadow": summary["queued"]["shadow"],
        "per_rep": per_rep,
    }
