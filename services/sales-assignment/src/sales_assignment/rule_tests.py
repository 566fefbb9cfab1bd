"""Golden routing cases: lead facts → the rule, rep or pool expected; checked, never applied.

Pure. Each case is routed with `routing.route` on a fresh round-robin state (so the answer
depends on the case alone, not on the cases before it or on live traffic), against the team
and accounts given and the rules given (a draft or the active ones). Reps are named by id or
by their exact name; a name two reps share, or one nobody has, makes the case fail with a
difference that says so (the live team may change under a cases file: that is a miss to
read, not a bad file).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sales_assignment.account_match import AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.routing import Assignment, RoutingPolicy, route
from sales_assignment.rules import RoutingRule


@dataclass(frozen=True, slots=True)
class Expect:
    """What a case expects; each given part must hold (rep or pool imply not queued)."""

    rule: str | None = None
    rep: str | None = None
    pool: Sequence[str] = ()
    queued: bool | None = None


@dataclass(frozen=True, slots=True)
class Case:
    """One golden case: a name, the lead's facts, when (availability), what to expect."""

    name: str
    facts: LeadFacts
    expect: Expect
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A case's result: what routing did and each way it differs from the expectation."""

    name: str
    passed: bool
    at: datetime
    rule: str
    rep_id: UUID | None
    rep_name: str | None
    queued: bool
    differences: list[str] = field(default_factory=list)
    reason: dict[str, Any] = field(default_factory=dict)


def resolve(ref: str, reps: Sequence[Rep]) -> tuple[UUID | None, str | None]:
    """The rep an expectation names (a rep id, else an exact name): (rep_id, None), or
    (None, why it names nobody or more than one)."""
    try:
        rep_id = UUID(ref)
    except ValueError:
        named = [r.rep_id for r in reps if r.name == ref]
        if len(named) == 1:
            return named[0], None
        if named:
            return None, f"{len(named)} reps are named {ref!r}: name the rep by id"
        return None, f"no rep named {ref!r} on the team"
    if any(r.rep_id == rep_id for r in reps):
        return rep_id, None
    return None, f"no rep {rep_id} on the team"


def _label(rep_id: UUID | None, reps: Sequence[Rep]) -> str:
    if rep_id is None:
        return "nobody (queued)"
    name = next((r.name for r in reps if r.rep_id == rep_id), None)
    return f"{name} ({rep_id})" if name else str(rep_id)


def differences(expect: Expect, rule: str, rep_id: UUID | None, reps: Sequence[Rep]) -> list[str]:
    """Each part of `expect` that the routing result (rule, rep or None: queued) misses."""
    found: list[str] = []
    got = _label(rep_id, reps)
    if expect.rule is not None and expect.rule != rule:
        found.append(f"rule: expected {expect.rule!r}, got {rule!r}")
    wants_rep = expect.rep is not None or bool(expect.pool)
    queued = expect.queued if expect.queued is not None else (False if wants_rep else None)
    if queued is True and rep_id is not None:
        found.append(f"queued: expected the lead to be queued, got {got}")
    if queued is False and rep_id is None:
        found.append("queued: expected a rep, the lead was queued")
    if expect.rep is not None:
        wanted, problem = resolve(expect.rep, reps)
        if problem is not None:
            found.append(f"rep: {problem}")
        elif wanted != rep_id and rep_id is not None:
            found.append(f"rep: expected {_label(wanted, reps)}, got {got}")
    if expect.pool:
        resolved = [resolve(ref, reps) for ref in expect.pool]
        found += [f"pool: {problem}" for _, problem in resolved if problem is not None]
        pool = {rid for rid, _ in resolved if rid is not None}
        if rep_id is not None and rep_id not in pool:
            names = ", ".join(expect.pool)
            found.append(f"pool: expected one of {names}, got {got}")
    return found


def check(
    case: Case,
    reps: Sequence[Rep],
    rules: Sequence[RoutingRule],
    accounts: AccountIndex,
    *,
    now: datetime,
) -> Outcome:
    """Route the case's lead at `case.at` (else `now`) on a fresh round robin; compare."""
    at = case.at or now
    policy = RoutingPolicy(rules=rules, rr_state={}, accounts=accounts)
    result = route(case.facts, reps, policy, now=at)
    rep_id = result.rep_id if isinstance(result, Assignment) else None
    found = differences(case.expect, result.rule, rep_id, reps)
    return Outcome(
        name=case.name,
        passed=not found,
        at=at,
        rule=result.rule,
        rep_id=rep_id,
        rep_name=next((r.name for r in reps if r.rep_id == rep_id), None),
        queued=rep_id is None,
        differences=found,
        reason=result.reason,
    )


def check_all(
    cases: Sequence[Case],
    reps: Sequence[Rep],
    rules: Sequence[RoutingRule],
    accounts: AccountIndex,
    *,
    now: datetime,
) -> list[Outcome]:
    """Every case, each on its own fresh round robin, in the order given."""
    return [check(c, reps, rules, accounts, now=now) for c in cases]
