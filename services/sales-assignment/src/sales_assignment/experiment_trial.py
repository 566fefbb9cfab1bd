"""The running experiment inside a routing transaction: which arm routes a lead, the
shadow's decision beside the live one, and the decisions recorded at commit.

`Team.decide` asks the trial to route, and records each decision the transaction stages (a
history step assigned, reassigned or queued: `staged_as`) in `routing_experiment_decisions`
with its arm (and, in shadow, the variant's rep or queued). Routing calls that decide
nothing (a queue pass that leaves a lead waiting, an SLA check that keeps the rep) record
nothing and, in shadow, do not move the shadow's rotation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from leadflow.uow import UnitOfWork
from sales_assignment import experiment_repo
from sales_assignment.experiment_models import ExperimentRow
from sales_assignment.experiments import VARIANT, Arm, Experiment, Mode, variant_pools
from sales_assignment.routing import Assignment, NoRepAvailable
from sales_assignment.rules import validate_rules

Result = Assignment | NoRepAvailable


@dataclass(frozen=True, slots=True)
class Trialled:
    """A decision the trial made: the lead's arm and, in shadow, the variant's beside it."""

    result: Result
    arm: Arm
    shadow: Result | None = None


@dataclass
class Trial:
    """The running experiment, as the routing team of one process applies it."""

    experiment: Experiment
    _rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, row: ExperimentRow | None) -> Trial | None:
        if row is None:
            return None
        # Stored rules were validated on the way in; validating again builds them.
        rules = validate_rules(row.rules)
        mode: Mode = "split" if row.mode == "split" else "shadow"
        return cls(Experiment(row.experiment_id, row.name, mode, rules, row.share))

    def route(
        self, lead_id: UUID, control: Callable[[], Result], variant: Callable[[], Result]
    ) -> Trialled:
        """The lead's decision by its arm (`control` routes by the active rules, `variant`
        by the experiment's: `Experiment.route`); in shadow, the variant's decision too,
        whose rotation moves only if the lead is handed out."""
        exp = self.experiment
        arm = exp.arm(lead_id)
        shadow: Result | None = None
        if arm == VARIANT:
            result = variant()
            detail = result.reason["detail"]
            result.reason["detail"] = f"experiment {exp.name!r}, variant rules: {detail}"
        else:
            result = control()
            if exp.mode == "shadow":
                shadow = variant()
                if isinstance(result, Assignment):  # saved with the decision, as the live one is
                    result.new_rr_state.update(variant_pools(shadow, exp))
        result.reason["variant"] = exp.tag(arm)
        return Trialled(result, arm, shadow)

    def decided(self, lead_id: UUID, event: str, trialled: Trialled, at: datetime) -> None:
        """Record a decision of the trial that the transaction stages as history step
        `event` (assigned, reassigned or queued); staged by `write`."""
        result, shadow = trialled.result, trialled.shadow
        rep_id = result.rep_id if isinstance(result, Assignment) else None
        self._rows.append(
            {
                "experiment_id": self.experiment.experiment_id,
                "lead_id": lead_id,
                "decided_at": at,
                "event": event,
                "arm": trialled.arm,
                "rep_id": rep_id,
                "rule": result.reason.get("rule"),
                "shadow_rep_id": shadow.rep_id if isinstance(shadow, Assignment) else None,
                "shadow_rule": shadow.rule if shadow is not None else None,
                "differs": _differs(rep_id, shadow),
            }
        )

    def write(self, uow: UnitOfWork) -> None:
        """Stage the decisions recorded since the last write, to insert at commit."""
        experiment_repo.add_decisions(uow, self._rows)
        self._rows = []


def staged_as(kind: str, result: Result, holder: UUID | None, attempt: int) -> str | None:
    """The history step a routing call of `kind` stages (`assigning.Assigner`), for a lead
    `holder` holds at `attempt`: assigned or reassigned when handed out, queued when sent
    to the queue; None when it decides nothing (a queue pass that leaves the lead waiting,
    an SLA check that leaves it with its rep)."""
    if isinstance(result, Assignment):
        if kind == "sla" and result.rep_id == holder:
            return None
        return "assigned" if attempt == 0 else "reassigned"
    return None if kind in ("queue", "sla") else "queued"


def _differs(rep_id: UUID | None, shadow: Result | None) -> bool | None:
    """Whether the shadow's decision differs from the one staged, `rep_id`'s or queued
    (None: not in shadow)."""
    if shadow is None:
        return None
    if rep_id is None:
        return isinstance(shadow, Assignment)
    return not isinstance(shadow, Assignment) or shadow.rep_id != rep_id


__all__ = ["Trial", "Trialled", "staged_as"]
