"""The replay's figures, gathered decision by decision and written as the simulation report."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sales_assignment.facts import LeadFacts
from sales_assignment.routing import Assignment, NoRepAvailable
from sales_assignment.rules import RoutingRule

EXAMPLES = 5
# Why a recorded decision was not given again by its own rules and team.
MISS_REASONS = {
    "not_recorded": "decided before the replay record began (no team or inputs recorded)",
    "team_not_recorded": "the team the decision was made with is no longer stored",
    "experiment_variant": "routed by a split experiment's variant rules, not the active ones",
    "after_earlier_miss": "follows a decision of the same team that was not reproduced, whose "
    "round-robin weights are therefore not known",
    "replay_differs": "the recorded inputs give another rep or rule: something routing read "
    "was not recorded",
}


@dataclass
class Tally:
    """Per decision and per lead, what the report counts."""

    moved_limit: int = 500
    decisions: int = 0  # recorded (or known unrecorded) decisions of the window
    reproduced: int = 0
    cap_hits: int = 0
    misses: dict[str, tuple[int, list[str]]] = field(default_factory=dict)
    matched: set[str] = field(default_factory=set)
    expected: dict[str, float] = field(default_factory=dict)  # by rep id (text)
    given: dict[str, int] = field(default_factory=dict)
    # lead → (recorded rep, simulated rep, simulated rule), as each last stood
    final: dict[uuid.UUID, tuple[uuid.UUID | None, uuid.UUID | None, str | None]] = field(
        default_factory=dict
    )

    def miss(self, reason: str, lead_id: uuid.UUID | str, n: int = 1) -> None:
        """`n` decisions not reproduced, for `reason` (`MISS_REASONS`)."""
        count, examples = self.misses.get(reason, (0, []))
        if len(examples) < EXAMPLES and str(lead_id) not in examples:
            examples.append(str(lead_id))
        self.misses[reason] = (count + n, examples)

    def decided(
        self, result: Assignment | NoRepAvailable, rules: Sequence[RoutingRule], facts: LeadFacts
    ) -> None:
        """One simulated decision: the rule the lead matches, capacity skips, fair shares."""
        rule = next((r.name for r in rules if r.matches(facts)), None)
        if rule is not None:
            self.matched.add(rule)
        eligible: dict[str, int] = {}
        capped = False
        for c in result.reason.get("candidates", ()):
            if c["eligible"]:
                eligible[c["rep_id"]] = c["weight"] or 0
            elif not capped and c["skipped"].startswith("at capacity"):
                capped = True
        self.cap_hits += capped
        if not isinstance(result, Assignment) or not eligible:
            return
        total = sum(eligible.values())
        expected = self.expected
        for key, weight in eligible.items():
            share = weight / total if total else 1 / len(eligible)
            expected[key] = expected.get(key, 0.0) + share
        chosen = str(result.rep_id)
        self.given[chosen] = self.given.get(chosen, 0) + 1

    def lead(
        self, lead_id: uuid.UUID, real: uuid.UUID | None, sim: uuid.UUID | None, rule: str | None
    ) -> None:
        """Where the lead stands after one of its decisions, recorded and simulated."""
        if rule is None and lead_id in self.final:
            rule = self.final[lead_id][2]
        self.final[lead_id] = (real, sim, rule)

    def rep_ids(self) -> set[str]:
        """Every rep the report names."""
        ids = {*self.expected, *self.given}
        for real, sim, _ in self.final.values():
            ids |= {str(r) for r in (real, sim) if r is not None}
        return ids

    def report(self, names: Mapping[str, str], rule_names: Sequence[str]) -> dict[str, Any]:
        """The report's figures (the GET body's, without the simulation's own fields)."""
        actual: dict[str, int] = {}  # by rep id (text)
        simulated: dict[str, int] = {}
        moved: list[dict[str, Any]] = []
        changed = newly_queued = 0
        for lead_id, (real, sim, rule) in self.final.items():
            if real is not None:
                actual[str(real)] = actual.get(str(real), 0) + 1
            if sim is not None:
                simulated[str(sim)] = simulated.get(str(sim), 0) + 1
            if real == sim:
                continue
            changed += 1
            newly_queued += sim is None
            if len(moved) < self.moved_limit:
                moved.append(
                    {
                        "lead_id": str(lead_id),
                        "actual_rep_id": _text(real),
                        "simulated_rep_id": _text(sim),
                        "simulated_rule": rule,
                    }
                )
        reps = sorted(
            {*actual, *simulated, *self.expected},
            key=lambda r: (names.get(r, "").casefold(), r),
        )
        return {
            "leads": len(self.final),
            "decisions": self.decisions,
            "changed": changed,
            "per_rep": [
                {
                    "rep_id": r,
                    "name": names.get(r),
                    "actual": actual.get(r, 0),
                    "simulated": simulated.get(r, 0),
                }
                for r in reps
                if r in actual or r in simulated
            ],
            "newly_queued": newly_queued,
            "cap_hits": self.cap_hits,
            "rules_never_matched": [n for n in rule_names if n not in self.matched],
            "reproduced": round(self.reproduced / self.decisions, 4) if self.decisions else None,
            "misses": [
                {
                    "reason": reason,
                    "explanation": MISS_REASONS.get(reason, reason),
                    "count": count,
                    "example_lead_ids": examples,
                }
                for reason, (count, examples) in sorted(self.misses.items())
            ],
            "moved": moved,
            "moved_total": changed,
            "fairness": [
                {
                    "rep_id": r,
                    "name": names.get(r),
                    "expected": round(self.expected.get(r, 0.0), 2),
                    "simulated": self.given.get(r, 0),
                }
                for r in reps
                if r in self.expected or r in self.given
            ],
        }


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None
