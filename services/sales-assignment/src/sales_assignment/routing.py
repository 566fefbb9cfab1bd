"""Route a qualified lead to one salesperson: pure, deterministic and explained.

`route(lead, reps, policy, now=...)` takes three steps, each recorded in the reason:

1. Account ownership: the lead's company domain (email, else website; free mail excluded;
   `eu.acme.com` falls back to `acme.com`), an account's domain or alias domain, owned by an
   available rep → that rep; else its company name matched to an account's names in
   `policy.accounts` (`account_match.match_account`); an ambiguous name match goes on to step 2.
2. The first rule in `policy.rules` whose conditions all hold picks the pool (its rep ids, or
   every rep whose territories name the lead's country); no rule matches → every rep, as rule
   `"default"`. A rule that matches wins even when nobody in its pool is free: its `fallback`
   (a rep, or a pool: see `fallback`) takes the lead then, else the lead waits.
3. Smooth weighted round robin (nginx) over the reps of the pool who are eligible: covering
   the lead's territory and segment, available (see `availability`) and of weight > 0. A
   fallback rep is given the lead directly (weight 0 allowed: overflow outside the rotation).

Nobody eligible → `NoRepAvailable`; the caller queues the lead and routes it again later.
The round-robin state is `{pool: {rep_id: current_weight}}`, pool being the rule name; it is
read from `policy.rr_state` and the updated copy comes back as `new_rr_state`, for the caller
to save in the same transaction as the assignment (under a row lock on the pool).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sales_assignment.account_match import AccountIndex, match_account
from sales_assignment.availability import unavailable_reason
from sales_assignment.eligibility import DECLINED, TRIED, candidate, pick
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.rules import DEFAULT_RULE, OWNER_RULE, RoutingRule

RRState = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Rules, round-robin state and accounts (domains, aliases and names → owner)."""

    rules: Sequence[RoutingRule] = ()
    rr_state: RRState = field(default_factory=dict)
    accounts: AccountIndex = field(default_factory=AccountIndex)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The rep chosen, the rule that chose them, why, and the round-robin state to save."""

    rep_id: UUID
    rule: str
    reason: dict[str, Any]
    new_rr_state: dict[str, dict[str, int]]


@dataclass(frozen=True, slots=True)
class NoRepAvailable:
    """Nobody can take the lead now; `reason` says who was considered and why not."""

    rule: str
    reason: dict[str, Any]
    new_rr_state: dict[str, dict[str, int]]


def route(
    lead: LeadFacts,
    reps: Sequence[Rep],
    policy: RoutingPolicy,
    *,
    now: datetime,
    exclude: Collection[UUID] = (),
    barred: Collection[UUID] = (),
) -> Assignment | NoRepAvailable:
    """Choose the rep for a lead; reps in `exclude` (tried already: routing again after an
    SLA miss) only get it when nobody else can, reps in `barred` (who declined it) never."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    by_id = {rep.rep_id: rep for rep in reps}
    candidates: list[dict[str, Any]] = []
    notes: list[str] = []
    state = {pool: dict(weights) for pool, weights in policy.rr_state.items()}

    def reason(rule: str, detail: str) -> dict[str, Any]:
        return {"rule": rule, "candidates": candidates, "detail": "; ".join([*notes, detail])}

    # 1. account ownership
    owner_of, owner_id = _owner_of(lead, policy, notes)
    spare_owner: Rep | None = None  # an owner already tried: better than queueing the lead
    if owner_id is not None:
        owner = by_id.get(owner_id)
        why = "unknown rep" if owner is None else unavailable_reason(owner, now)
        if owner_id in barred:
            why = DECLINED
        if why is None and owner_id in exclude:
            why, spare_owner = TRIED, owner
        candidates.append(candidate(owner_id, owner, OWNER_RULE, why))
        if why is None and owner is not None:
            return Assignment(owner_id, OWNER_RULE, reason(OWNER_RULE, owner_of), state)
        notes.append(f"{owner_of} skipped: {why}")

    # 2. the pool of the first matching rule
    rule = next((r for r in policy.rules if r.matches(lead)), None)
    rule_name = rule.name if rule is not None else DEFAULT_RULE
    if rule is None:
        pool_ids: list[UUID] = list(by_id)
    elif isinstance(rule.pool, str):  # "territory"
        pool_ids = [r.rep_id for r in reps if lead.country and lead.country in r.countries]
        if not pool_ids:
            notes.append(f"no rep's territories name country {lead.country or 'unknown'}")
    else:
        pool_ids = list(dict.fromkeys(rule.pool))

    # 3. who in the pool is eligible, else in the rule's fallback
    chose = pick(lead, reps, by_id, rule, pool_ids, now=now, exclude=exclude, barred=barred)
    candidates += chose.lines
    where = f"rule {rule_name!r}: "
    nobody = f"{where}no eligible rep among {len(pool_ids)}"
    if not chose.chosen:
        if spare_owner is not None:
            candidates[0].update(eligible=True, skipped=None)
            detail = f"{owner_of} again: nobody else in {rule_name!r} is free"
            return Assignment(spare_owner.rep_id, OWNER_RULE, reason(OWNER_RULE, detail), state)
        detail = nobody + (f", nor in its fallback ({chose.spare})" if chose.spare >= 0 else "")
        return NoRepAvailable(rule_name, reason(rule_name, detail), state)
    again = " (every eligible rep was already tried)" if chose.late else ""
    key = rule_name
    if chose.fallback is not None:
        if chose.fallback.rep is not None:  # one rep: no round robin
            detail = f"{nobody}; fallback rep {chose.chosen[0].name}{again}"
            return Assignment(chose.chosen[0].rep_id, rule_name, reason(rule_name, detail), state)
        key, where = chose.fallback.rr_pool(rule_name), f"{nobody}; fallback pool: "

    pool_keys = {str(rid) for rid, _, _ in chose.group}
    current = {k: v for k, v in state.get(key, {}).items() if k in pool_keys}
    winner = smooth_weighted_pick(chose.chosen, current)
    state[key] = current
    detail = (
        f"{where}weighted round robin chose {winner.name} "
        f"among {len(chose.chosen)} eligible of {len(chose.group)}{again}"
    )
    return Assignment(winner.rep_id, rule_name, reason(rule_name, detail), state)


def smooth_weighted_pick(reps: Sequence[Rep], current: dict[str, int]) -> Rep:
    """Nginx smooth weighted round robin over reps of weight > 0; updates `current` in place."""
    best: Rep | None = None
    best_weight = 0
    total = 0
    # Sorted so that equal current weights always go to the lowest rep_id (by its integer:
    # the order UUIDs compare in, without a Python-level comparison per pair).
    for rep in sorted(reps, key=lambda r: r.rep_id.int):
        if rep.weight <= 0:
            continue
        key = str(rep.rep_id)
        current[key] = current.get(key, 0) + rep.weight
        total += rep.weight
        if best is None or current[key] > best_weight:
            best, best_weight = rep, current[key]
    if best is None:
        raise ValueError("smooth_weighted_pick needs at least one rep of weight > 0")
    current[str(best.rep_id)] -= total
    return best


def _owner_of(lead: LeadFacts, policy: RoutingPolicy, notes: list[str]) -> tuple[str, UUID | None]:
    """The account owner label and id: by domain or alias, else by company name."""
    domain = lead.company_domain
    hit = match_account(policy.accounts, domain, lead.company)
    if hit.account is None:
        if hit.ambiguous:
            notes.append(f"ambiguous account match: {', '.join(hit.ambiguous)}")
        return f"account owner of {domain}", None
    if hit.how == "name":
        # The account's domain, never the lead's company text: reasons outlive erasure.
        owner_of = f"account owner of {hit.account.domain} (company name match {hit.score})"
        return owner_of, hit.account.rep_id
    return f"account owner of {hit.matched}", hit.account.rep_id


__all__ = [
    "Assignment",
    "LeadFacts",
    "NoRepAvailable",
    "RRState",
    "Rep",
    "RoutingPolicy",
    "route",
    "smooth_weighted_pick",
]
