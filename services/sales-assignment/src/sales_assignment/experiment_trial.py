"""The running experiment inside a routing transaction: which arm routes a lead, the
shadow's decision beside the live one, and the decisions recorded at commit.

`Team.route` asks the trial to route; every decision the transaction stages (a history step
assigned, reassigned or queued) whose reason came from the trial is recorded in
`routing_experiment_decisions` with its arm (and, in shadow, the variant's rep or queued).
Routing calls that decide nothing (a queue pass that leaves a lead waiting, an SLA check that
keeps the rep) record nothing and, in shadow, do not move the shadow's rotation.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from leadflow.uow import UnitOfWork
from sales_assignment import experiment_repo
from sales_assignment.account_match import AccountIndex
from sales_assignment.experiment_models import ExperimentRow
from sales_assignment.experiments import VARIANT, Arm, Experiment, Mode, variant_pools
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import Assignment, NoRepAvailable
from sales_assignment.rules import validate_rules

Result = Assignment | NoRepAvailable
# The history steps that are routing decisions (as the fairness ledger counts them).
DECISIONS = frozenset({"assigned", "reassigned", "queued"})


@dataclass(frozen=True, slots=True)
class _Pending:
    """A decision the trial made, until the transaction stages it (or not)."""

    reason: dict[str, Any]
    arm: Arm
    shadow: Result | None


@dataclass
class Trial:
    """The running experiment, as the routing team of one process applies it."""

    experiment: Experiment
    _pending: dict[UUID, list[_Pending]] = field(default_factory=dict)

    @classmethod
    def of(cls, row: ExperimentRow | None) -> Trial | None:
        if row is None:
            return None
        # Stored rules were validated on the way in; validating again builds them.
        rules = validate_rules(row.rules)
        mode: Mode = "split" if row.mode == "split" else "shadow"
        return cls(Experiment(row.experiment_id, row.name, mode, rules, row.share))

    def route(
        self,
        lead: LeadFacts,
        reps: Sequence[Rep],
        state: Mapping[str, dict[str, int]],
        accounts: AccountIndex,
        control: Callable[[], Result],
        *,
        now: datetime,
        tried: Collection[UUID] | None,
        barred: Collection[UUID],
    ) -> Result:
        """The lead's decision by its arm (`control` routes by the active rules); in shadow,
        the variant's decision too, whose rotation moves only if the lead is handed out."""
        exp = self.experiment
        arm = exp.arm(lead.lead_id)
        shadow: Result | None = None
        if arm == VARIANT:
            result = exp.route(lead, reps, state, accounts, now=now, tried=tried, barred=barred)
            detail = result.reason["detail"]
            result.reason["detail"] = f"experiment {exp.name!r}, variant rules: {detail}"
        else:
            result = control()
            if exp.mode == "shadow":
                shadow = exp.route(lead, reps, state, accounts, now=now, tried=tried, barred=barred)
                if isinstance(result, Assignment):  # saved with the decision, as the live one is
                    result.new_rr_state.update(variant_pools(shadow, exp))
        result.reason["variant"] = exp.tag(arm)
        self._pending.setdefault(lead.lead_id, []).append(_Pending(result.reason, arm, shadow))
        return result

    def record(self, uow: UnitOfWork, steps: Sequence[dict[str, Any]]) -> None:
        """Stage a decision row for each staged step that is one of the trial's decisions."""
        rows = []
        for step in steps:
            if step["event"] not in DECISIONS:
                continue
            made = self._pending.get(step["lead_id"], ())
            found = next((p for p in made if p.reason is step["reason"]), None)
            if found is None:
                continue
            shadow = found.shadow
            rows.append(
                {
                    "experiment_id": self.experiment.experiment_id,
                    "lead_id": step["lead_id"],
                    "decided_at": step["at"],
                    "event": step["event"],
                    "arm": found.arm,
                    "rep_id": step["rep_id"],
                    "rule": found.reason.get("rule"),
                    "shadow_rep_id": shadow.rep_id if isinstance(shadow, Assignment) else None,
                    "shadow_rule": shadow.rule if shadow is not None else None,
                    "differs": _differs(step, shadow),
                }
            )
        self._pending.clear()
        experiment_repo.add_decisions(uow, rows)


def _differs(step: dict[str, Any], shadow: Result | None) -> bool | None:
    """Whether the shadow's decision differs from the one staged (None: not in shadow)."""
    if shadow is None:
        return None
    if step["event"] == "queued":
        return isinstance(shadow, Assignment)
    return not isinstance(shadow, Assignment) or shadow.rep_id != step["rep_id"]


__all__ = ["DECISIONS", "Trial"]
