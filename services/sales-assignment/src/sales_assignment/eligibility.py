"""Who of a pool may take a lead, and why not: the candidate lines of a routing reason.

Pure. `pick` judges a rule's pool and, when nobody new in it is eligible, the rule's
fallback (`fallback.Fallback`); reps already tried for the lead come last, reps who
declined it never.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sales_assignment.availability import unavailable_reason
from sales_assignment.fallback import Fallback
from sales_assignment.places import segment_of

if TYPE_CHECKING:
    from sales_assignment.facts import LeadFacts, Rep
    from sales_assignment.rules import RoutingRule

TRIED = "already tried for this lead"
DECLINED = "declined this lead"
WEIGHT_ZERO = "weight 0 (not in round robin)"
Verdict = tuple[UUID, "Rep | None", str | None]  # a rep of a pool: id, rep, why not eligible


@dataclass(frozen=True, slots=True)
class Pick:
    """Whom a rule's pool, or its fallback, offers for a lead, and the candidate lines."""

    chosen: list[Rep]  # eligible, to choose among
    group: list[Verdict]  # the pool (or fallback) they come from
    lines: list[dict[str, Any]]
    late: bool  # every eligible rep was tried already
    fallback: Fallback | None  # set when they come from the rule's fallback
    spare: int  # how many reps the fallback added (-1: the rule has none, or it was not needed)


def pick(
    lead: LeadFacts,
    reps: Sequence[Rep],
    by_id: Mapping[UUID, Rep],
    rule: RoutingRule | None,
    pool_ids: list[UUID],
    *,
    now: datetime,
    exclude: Collection[UUID],
    barred: Collection[UUID],
) -> Pick:
    """The pool's eligible reps not tried yet, else the fallback's, else those already tried
    (pool first); reps who declined the lead never."""
    verdicts = _verdicts(pool_ids, by_id, lead, now, barred)
    fresh, tried = _split(verdicts, exclude)
    fallback = rule.fallback if rule is not None else None
    spare: list[Verdict] = []
    if fallback is not None and not fresh:
        in_pool = set(pool_ids)  # judged above already
        members = fallback.members(lead.country, ((r.rep_id, r.countries) for r in reps))
        spare_ids = [rid for rid in members if rid not in in_pool]
        spare = _verdicts(spare_ids, by_id, lead, now, barred, alone=fallback.rep is not None)
    spare_fresh, spare_tried = _split(spare, exclude)
    order = ((fresh, verdicts), (spare_fresh, spare), (tried, verdicts), (spare_tried, spare))
    chosen, group = next(((c, g) for c, g in order if c), ([], verdicts))
    chosen_ids = {rep.rep_id for rep in chosen}
    lines = [
        candidate(rid, rep, step, TRIED if why is None and rid not in chosen_ids else why)
        for step, judged in (("pool", verdicts), ("fallback", spare))
        for rid, rep, why in judged
    ]
    return Pick(
        chosen,
        group,
        lines,
        late=chosen is tried or chosen is spare_tried,
        fallback=fallback if chosen and group is spare else None,
        spare=len(spare) if fallback is not None and not fresh else -1,
    )


def _verdicts(
    ids: Sequence[UUID],
    by_id: Mapping[UUID, Rep],
    lead: LeadFacts,
    now: datetime,
    barred: Collection[UUID],
    *,
    alone: bool = False,
) -> list[Verdict]:
    """Who of `ids` may take the lead and why not; `alone`: given the lead outside any round
    robin (a fallback rep), where weight 0 does not count."""
    out: list[Verdict] = []
    for rid in ids:
        rep = by_id.get(rid)
        why = DECLINED if rid in barred else _ineligible(rep, lead, now)
        out.append((rid, rep, None if alone and why == WEIGHT_ZERO else why))
    return out


def _split(verdicts: Sequence[Verdict], exclude: Collection[UUID]) -> tuple[list[Rep], list[Rep]]:
    """The eligible reps not tried yet, and those already tried for the lead."""
    fresh = [rep for rid, rep, why in verdicts if why is None and rid not in exclude and rep]
    tried = [rep for rid, rep, why in verdicts if why is None and rid in exclude and rep]
    return fresh, tried


def _ineligible(rep: Rep | None, lead: LeadFacts, now: datetime) -> str | None:
    """Why the rep may not take the lead now (None: eligible)."""
    if rep is None:
        return "unknown rep"
    if rep.countries and lead.country and lead.country not in rep.countries:
        return f"territory: {lead.country} not in {', '.join(rep.territories)}"
    segment = segment_of(lead.company_size)
    if rep.segments and segment and segment not in rep.segments:
        return f"segment: {segment} not in {', '.join(rep.segments)}"
    why = unavailable_reason(rep, now)
    if why is None and rep.weight == 0:
        return WEIGHT_ZERO
    return why


def candidate(rep_id: UUID, rep: Rep | None, step: str, why: str | None) -> dict[str, Any]:
    """One line of a reason's `candidates`: who, at which step, and why skipped."""
    return {
        "rep_id": str(rep_id),
        "name": rep.name if rep is not None else None,
        "step": step,
        "eligible": why is None,
        "skipped": why,
        # The weight at decision time: the fairness ledger's share, whatever changes later.
        "weight": rep.weight if rep is not None else None,
    }
