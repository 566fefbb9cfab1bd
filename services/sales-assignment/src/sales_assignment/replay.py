"""The routing replay: recorded decisions run again through `routing.route`, pure.

Decisions are fed in their recorded order (`feed`). Two teams move through them:

- the *recorded* team, rebuilt at each checkpoint and moved by each decision as it really
  happened (counts from the recorded outcome, round-robin weights from routing it again).
  Routing each decision with it and the recorded rules tells whether the record is
  reproduced: the `reproduced` share, and every miss with its reason;
- the *simulated* team: the draft's reps and rules, its own round-robin weights carried from
  decision to decision, and open-lead counts = the recorded ones adjusted by what the
  simulation gave minus what really happened so far (`_delta`).

Follow-up decisions (an SLA miss, a decline, a rep retired) happened to the lead's holder:
the simulation replays one only while it gives the lead to the same rep, and a queue pass
only for a lead it left queued too. Decisions before the window (`in_window` False) only
move the recorded team: a team's checkpoint may be older than the window.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sales_assignment.account_match import Account, AccountIndex
from sales_assignment.facts import LeadFacts, Rep
from sales_assignment.replay_inputs import Checkpoint, Decision, Draft, Snapshot
from sales_assignment.replay_report import Tally
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import RoutingRule

Result = Assignment | NoRepAvailable
FOLLOW_UPS = frozenset({"sla", "declined", "retired"})
# A recorded account owner stands for the lead's account: this domain, its owner the rep.
_OWNER_TLD = ".owner.invalid"


def _owner_domain(rep_id: uuid.UUID) -> str:
    return rep_id.hex + _OWNER_TLD


@dataclass
class _Team:
    """Reps (counts kept current for capped reps only: nobody else reads them), counts and
    round-robin weights."""

    reps: list[Rep]
    counts: dict[uuid.UUID, int]
    rr: dict[str, dict[str, int]]
    index: dict[uuid.UUID, int] = field(init=False)
    capped: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {rep.rep_id: i for i, rep in enumerate(self.reps)}
        self.capped = [i for i, rep in enumerate(self.reps) if rep.max_open_leads is not None]

    def sync(self, count: Mapping[uuid.UUID, int]) -> list[Rep]:
        """The reps, capped ones with their current count."""
        for i in self.capped:
            rep = self.reps[i]
            n = max(0, count.get(rep.rep_id, 0))
            if rep.open_leads != n:
                self.reps[i] = rep.with_open_leads(n)
        return self.reps


def took(counts: dict[uuid.UUID, int], rep: uuid.UUID | None, prev: uuid.UUID | None) -> None:
    """A lead given to `rep` (None: to nobody) from `prev`, as `Team.took`/`release` count."""
    if rep is not None:
        counts[rep] = counts.get(rep, 0) + 1
    if prev is not None:
        counts[prev] = max(0, counts.get(prev, 0) - 1)


def effect(kind: str, rep: uuid.UUID | None, held: uuid.UUID | None) -> tuple[bool, bool]:
    """What a decision's outcome does to a lead `held` by someone: (moved, released)."""
    if kind == "sla":  # nobody else free: the rep keeps it
        return (rep is not None and rep != held, False)
    if kind in ("declined", "retired"):  # nobody else: to the queue
        return (rep is not None, rep is None)
    return (rep is not None, False)


class Replay:
    """Feed decisions in order; `tally` holds the report's figures."""

    def __init__(self, draft: Draft, *, moved_limit: int = 500) -> None:
        self.draft = draft
        self.tally = Tally(moved_limit=moved_limit)
        self._checkpoint: uuid.UUID | None = None
        self._snapshot: Snapshot | None = None
        self._real: _Team | None = None
        self._sim_rr: dict[str, dict[str, int]] | None = None
        self._sim_team: _Team | None = None
        self._delta: dict[uuid.UUID, int] = {}
        self._holder: dict[uuid.UUID, uuid.UUID | None] = {}  # lead → simulated rep
        self._real_holder: dict[uuid.UUID, uuid.UUID | None] = {}
        self._owners: set[uuid.UUID] = set()
        self._accounts = AccountIndex()
        self._in_sync = draft.empty  # the simulation is the recorded team itself
        self._tainted: set[uuid.UUID] = set()  # teams whose weights a miss left unknown

    def feed(
        self,
        d: Decision,
        snapshot: Snapshot | None,
        checkpoint: Checkpoint | None,
        *,
        in_window: bool,
    ) -> None:
        """Replay one decision (with its team's snapshot and checkpoint, None if lost)."""
        if snapshot is None or checkpoint is None:
            if in_window:
                self.tally.decisions += 1
                self.tally.miss("team_not_recorded", d.lead_id)
            return
        if d.checkpoint_id != self._checkpoint:
            self._start(snapshot, checkpoint)
        assert self._real is not None
        facts = self._facts(d)
        real = route(
            facts,
            self._real.sync(self._real.counts),
            RoutingPolicy(snapshot.rules, self._real.rr, self._accounts),
            now=d.decided_at,
            exclude=d.exclude or (),
            barred=d.barred,
        )
        got = real.rep_id if isinstance(real, Assignment) else None
        variant = "variant" in d.facts  # other rules routed it: their own pools moved
        same = got == d.rep_id and real.rule == d.rule and not variant
        moved, released = effect(d.kind, d.rep_id, d.prev_id)
        if in_window:
            self._check(d, same)
            if not same:  # the simulation goes its own way from here
                self._in_sync = False
            self._simulate(d, facts, snapshot, real)
        if not same and not variant:
            self._tainted.add(d.checkpoint_id)  # the weights it left are not known
        elif same and moved and isinstance(real, Assignment):
            self._real.rr = real.new_rr_state
        if moved:
            took(self._real.counts, d.rep_id, d.prev_id)
        elif released:
            took(self._real.counts, None, d.prev_id)

    def _check(self, d: Decision, same: bool) -> None:
        self.tally.decisions += 1
        if same:
            self.tally.reproduced += 1
        elif "variant" in d.facts:
            self.tally.miss("experiment_variant", d.lead_id)
        elif d.checkpoint_id in self._tainted:
            self.tally.miss("after_earlier_miss", d.lead_id)
        else:
            self.tally.miss("replay_differs", d.lead_id)

    def _start(self, snapshot: Snapshot, checkpoint: Checkpoint) -> None:
        """A new recorded team: counts and weights from its checkpoint."""
        ids = [rep.rep_id for rep in snapshot.reps]
        counts = dict(zip(ids, checkpoint.counts, strict=False))
        rr = {
            pool: {str(r): w for r, w in zip(ids, weights, strict=False) if w is not None}
            for pool, weights in checkpoint.rr.items()
        }
        self._checkpoint, self._snapshot = checkpoint.checkpoint_id, snapshot
        self._real = _Team(list(snapshot.reps), counts, rr)
        if self._in_sync:
            return
        if self._sim_rr is None:
            self._sim_rr = {pool: dict(w) for pool, w in rr.items()}
        for pool, weights in rr.items():  # pools the simulation has not met yet
            self._sim_rr.setdefault(pool, dict(weights))
        self._sim_team = _Team(list(self.draft.reps(snapshot)), {}, self._sim_rr)

    def _facts(self, d: Decision) -> LeadFacts:
        owner = d.owner_id
        if owner is not None and owner not in self._owners:
            self._owners.add(owner)
            self._accounts = AccountIndex.build(
                Account(_owner_domain(o), o) for o in sorted(self._owners)
            )
        f = d.facts
        return LeadFacts(
            lead_id=d.lead_id,
            email_domain=_owner_domain(owner) if owner is not None else None,
            country=f.get("country"),
            company_size=f.get("company_size"),
            industry=f.get("industry"),
            score=f.get("score"),
        )

    def _simulate(self, d: Decision, facts: LeadFacts, snapshot: Snapshot, real: Result) -> None:
        """The draft's decision for the lead, and what it does to the simulated team."""
        assert self._real is not None
        lead = d.lead_id
        before_real = self._real_holder.get(lead, d.prev_id)
        held = self._holder.get(lead, before_real)
        if d.kind == "recycled":  # a new cycle: what each side held was closed before
            self._undo(held, before_real)
            held = before_real = None
        moved_real, released_real = effect(d.kind, d.rep_id, d.prev_id)
        after_real = d.rep_id if moved_real else (None if released_real else before_real)
        self._real_holder[lead] = after_real
        skip = (d.kind == "queue" and held is not None) or (
            d.kind in FOLLOW_UPS and held != d.prev_id
        )
        rules = self.draft.rules if self.draft.rules is not None else snapshot.rules
        if skip:
            result: Result | None = None
        elif self._in_sync:
            result = real
        else:
            result = self._route_sim(d, facts, rules)
        after = held
        if result is not None:
            rep = result.rep_id if isinstance(result, Assignment) else None
            moved, released = effect(d.kind, rep, held)
            if moved:
                after = rep
                if (
                    not self._in_sync
                    and isinstance(result, Assignment)
                    and self._sim_rr is not None
                ):
                    self._sim_rr.clear()
                    self._sim_rr.update(result.new_rr_state)
            elif released:
                after = None
            self.tally.decided(result, rules, facts)
        self._holder[lead] = after
        self._shift(held, after, +1)
        self._shift(before_real, after_real, -1)
        self.tally.lead(lead, after_real, after, result.rule if result is not None else None)

    def _route_sim(self, d: Decision, facts: LeadFacts, rules: Sequence[RoutingRule]) -> Result:
        if self._sim_team is None or self._sim_rr is None:  # fell out of sync just now
            assert self._real is not None
            assert self._snapshot is not None
            self._sim_rr = {pool: dict(w) for pool, w in self._real.rr.items()}
            self._sim_team = _Team(list(self.draft.reps(self._snapshot)), {}, self._sim_rr)
        assert self._real is not None
        counts = self._real.counts
        delta = self._delta
        sim_counts = {r: counts.get(r, 0) + delta.get(r, 0) for r in self._sim_team.index}
        reps = self._sim_team.sync(sim_counts)
        return route(
            facts,
            reps,
            RoutingPolicy(rules, self._sim_rr, self._accounts),
            now=d.decided_at,
            exclude=d.exclude or (),
            barred=d.barred,
        )

    def _shift(self, before: uuid.UUID | None, after: uuid.UUID | None, sign: int) -> None:
        """Count a holder change into the simulated-minus-recorded difference."""
        if before == after:
            return
        if before is not None:
            self._delta[before] = self._delta.get(before, 0) - sign
        if after is not None:
            self._delta[after] = self._delta.get(after, 0) + sign

    def _undo(self, held: uuid.UUID | None, real: uuid.UUID | None) -> None:
        self._shift(held, None, +1)
        self._shift(real, None, -1)

    def report(self, names: Mapping[str, str]) -> dict[str, Any]:
        """The report's figures (`Tally.report`); rules never matched are the draft's, else
        the last recorded team's."""
        rules = self.draft.rules
        if rules is None:
            rules = self._snapshot.rules if self._snapshot is not None else ()
        return self.tally.report(names, [rule.name for rule in rules])
