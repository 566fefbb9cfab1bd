"""Routing experiments (pure): a variant rule set beside the active one, in shadow or split.

*Split*: a stable hash of the experiment and lead ids (the first 8 bytes of sha256 of their
16 + 16 bytes, over 2**64) below `share` puts the lead in the variant arm, routed by the
variant rules; every other lead is in the control arm, routed by the active rules. The hash
needs no state, so a lead keeps its arm across re-routes (SLA misses, declines, queue passes)
while the experiment runs; salted by the experiment, two experiments pick their variant arms
independently (a 0.2 and a 0.2 share overlap on about 0.04 of leads, not 0.2), so one's
effect does not carry into the next. *Shadow*: every lead is routed by the active rules (arm
`control`) and the variant's decision is computed beside it, routed nowhere, to be recorded
and compared.

The variant keeps its own round-robin pools: each of its keys (a rule name, `default`, a
fallback's key) is stored as `" exp " + sha256("<experiment id>:<key>")`, a leading space
no rule name has, so neither arm moves the other's rotation and a new experiment starts
afresh.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from sales_assignment.account_match import AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.fallback import hidden_pool
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import DEFAULT_RULE, RoutingRule

Mode = Literal["shadow", "split"]
Arm = Literal["control", "variant"]
CONTROL: Arm = "control"
VARIANT: Arm = "variant"
RR_PREFIX = " exp "  # the variant's round-robin keys (rr_state.pool): 5 + 64 characters
_SCALE = float(2**64)

Result = Assignment | NoRepAvailable


def hash_fraction(experiment_id: UUID, lead_id: UUID) -> float:
    """Where the lead falls in [0, 1) for this experiment: stable across processes, versions
    and replicas."""
    digest = hashlib.sha256(experiment_id.bytes + lead_id.bytes).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


@dataclass(frozen=True, slots=True)
class Experiment:
    """A running experiment: its variant rules, mode and (split) the variant's share."""

    experiment_id: UUID
    name: str
    mode: Mode
    rules: Sequence[RoutingRule]
    share: float | None = None
    # The variant's round-robin keys: the key `route` uses → the key stored.
    pools: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode == "split" and not (self.share is not None and 0 < self.share < 1):
            raise ValueError("a split experiment needs 0 < share < 1")
        if self.mode == "shadow" and self.share is not None:
            raise ValueError("a shadow experiment takes no share")
        keys = {DEFAULT_RULE}
        for rule in self.rules:
            keys.add(rule.name)
            if rule.fallback is not None and rule.fallback.pool is not None:
                keys.add(rule.fallback.rr_pool(rule.name))
        object.__setattr__(self, "pools", {key: self.stored_key(key) for key in keys})

    def stored_key(self, key: str) -> str:
        """The variant's round-robin key as `rr_state` stores it."""
        return hidden_pool(RR_PREFIX, f"{self.experiment_id}:{key}")

    def arm(self, lead_id: UUID) -> Arm:
        """The lead's arm: split by the hash; every shadow lead is routed by the control."""
        if self.mode == "split" and self.share is not None:
            return VARIANT if hash_fraction(self.experiment_id, lead_id) < self.share else CONTROL
        return CONTROL

    def tag(self, arm: Arm) -> dict[str, str]:
        """What the decision's reason carries (`AssignmentReason.variant`)."""
        return {"experiment": self.name, "arm": arm}

    def route(
        self,
        lead: LeadFacts,
        reps: Sequence[Rep],
        state: Mapping[str, dict[str, int]],
        accounts: AccountIndex,
        *,
        now: datetime,
        tried: Collection[UUID] | None = None,
        barred: Collection[UUID] = (),
    ) -> Result:
        """The variant's decision; its `new_rr_state` is the whole `state` with only the
        variant's own pools moved (the caller saves it as it would the control's)."""
        view = {key: state[stored] for key, stored in self.pools.items() if stored in state}
        policy = RoutingPolicy(rules=self.rules, rr_state=view, accounts=accounts)
        result = route(lead, reps, policy, now=now, exclude=tried or (), barred=barred)
        # The variant's pools over the others, shared as given (nothing changes a pool's
        # weights in place: routing copies what it moves); route returns every pool it was
        # given, and the one it moved.
        own = {self.pools[k]: w for k, w in result.new_rr_state.items() if k in self.pools}
        return replace(result, new_rr_state={**state, **own})


def variant_pools(result: Result, experiment: Experiment) -> dict[str, dict[str, int]]:
    """The variant's own pools out of a state `Experiment.route` returned."""
    stored = set(experiment.pools.values())
    return {k: v for k, v in result.new_rr_state.items() if k in stored}


__all__ = [
    "CONTROL",
    "VARIANT",
    "Arm",
    "Experiment",
    "Mode",
    "hash_fraction",
    "variant_pools",
]
