"""The routing inputs of one transaction: reps, open-lead counts, policy and round robin.

Taken under the routing lock (`repo.lock_routing`) and carried across a batch of leads, so
each decision sees the counts and round-robin weights the previous one left behind. Between
transactions a `TeamCache` keeps the team the last one committed, so a stream of leads does
not reload reps, rules, owners, counts and weights for every batch.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from leadflow.uow import UnitOfWork
from sales_assignment import experiment_repo, repo
from sales_assignment.account_match import Account, AccountIndex
from sales_assignment.experiment_trial import Trial, Trialled, staged_as
from sales_assignment.facts import Rep
from sales_assignment.models import OPEN_STATUSES, AssignmentRow, RepRow
from sales_assignment.payloads import facts_of, to_rep
from sales_assignment.recording import DecisionLog
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, route
from sales_assignment.rules import RoutingRule, validate_rules

# How long this process trusts that a team snapshot it stored is still stored (retention
# keeps snapshots stored this recently: `replay_repo.SNAPSHOT_MARGIN`).
SNAPSHOTS_KNOWN_SECONDS = 86400.0


@dataclass
class Team:
    """The reps, their open-lead counts, accounts, rules and round-robin state."""

    rows: dict[uuid.UUID, RepRow]
    counts: dict[uuid.UUID, int]
    state: dict[str, dict[str, int]]
    accounts: AccountIndex = field(default_factory=AccountIndex)
    rules: list[RoutingRule] = field(default_factory=list)
    rules_version: int = 0
    # The round-robin state as the table holds it: `save` writes only what differs.
    stored: dict[str, dict[str, int]] = field(default_factory=dict)
    # The running routing experiment, if any (`experiment_trial`).
    trial: Trial | None = None
    # What its decisions needed, for the replay (`recording`), staged by `save`.
    log: DecisionLog = field(default_factory=DecisionLog)
    # The routing view of each rep, parsed once; `took` keeps its open-lead count current.
    reps: dict[uuid.UUID, Rep] = field(init=False)

    def __post_init__(self) -> None:
        self.reps = {rid: to_rep(row, self.counts.get(rid, 0)) for rid, row in self.rows.items()}

    @classmethod
    async def load(cls, session: AsyncSession) -> Team:
        rows = {r.rep_id: r for r in await repo.live_reps(session)}
        ruleset = await repo.active_rules(session)
        state = await repo.rr_state(session)
        return cls(
            rows,
            await repo.open_counts(session),
            state,
            accounts=AccountIndex.build(
                Account(o.domain, o.rep_id, tuple(o.alias_domains), tuple(o.names))
                for o in await repo.account_owners(session)
            ),
            # Stored rules were validated on the way in; validating again builds them.
            rules=validate_rules(ruleset.rules) if ruleset is not None else [],
            rules_version=ruleset.version if ruleset is not None else 0,
            stored={pool: dict(weights) for pool, weights in state.items()},
            trial=Trial.of(await experiment_repo.running(session)),
        )

    def decide(
        self,
        row: AssignmentRow,
        now: datetime,
        tried: set[uuid.UUID] | None = None,
        barred: set[uuid.UUID] | None = None,
        *,
        kind: str,
    ) -> Assignment | NoRepAvailable:
        """Route the lead of `row` (`tried`, SLA re-routing: reps to avoid if possible;
        `barred`: reps who declined the lead, never given it again) and record the decision:
        for the replay (`recording`; a queue pass records only the leads it hands out: the
        others wait as they were) and for the running experiment (`experiment_trial`: the
        decisions the transaction stages)."""
        if self.log.checkpoint_id is None:  # the team's first decision
            reps = list(self.reps.values())
            self.log.start(reps, self.rules, self.rules_version, self.counts, self.state, now=now)
        prev = row.rep_id if row.status in OPEN_STATUSES else None
        result, trialled = self._route(row, now, tried, barred or ())
        if kind != "queue" or isinstance(result, Assignment):
            self.log.decided(
                row.lead_id, row.facts, kind, result, now, prev=prev, exclude=tried, barred=barred
            )
        if self.trial is not None and trialled is not None:
            event = staged_as(kind, result, row.rep_id, row.attempt)
            if event is not None:
                self.trial.decided(row.lead_id, event, trialled, now)
        return result

    def _route(
        self,
        row: AssignmentRow,
        now: datetime,
        tried: set[uuid.UUID] | None,
        barred: Collection[uuid.UUID],
    ) -> tuple[Assignment | NoRepAvailable, Trialled | None]:
        """The lead's decision by the active rules, or as the running experiment has it."""
        reps = list(self.reps.values())
        facts = facts_of(row)

        def active() -> Assignment | NoRepAvailable:
            policy = RoutingPolicy(rules=self.rules, rr_state=self.state, accounts=self.accounts)
            result = route(facts, reps, policy, now=now, exclude=tried or (), barred=barred)
            if self.rules_version:
                result.reason["detail"] = f"rules v{self.rules_version}: {result.reason['detail']}"
            return result

        if self.trial is None:
            return active(), None
        exp = self.trial.experiment

        def variant() -> Assignment | NoRepAvailable:
            state, accounts = self.state, self.accounts
            return exp.route(facts, reps, state, accounts, now=now, tried=tried, barred=barred)

        trialled = self.trial.route(row.lead_id, active, variant)
        return trialled.result, trialled

    def took(self, result: Assignment, previous: uuid.UUID | None) -> None:
        self.state = result.new_rr_state
        self._count(result.rep_id, +1)
        if previous is not None:
            self._count(previous, -1)

    def release(self, rep_id: uuid.UUID) -> None:
        """The rep no longer holds one of their leads (declined, and queued)."""
        self._count(rep_id, -1)

    def _count(self, rep_id: uuid.UUID, delta: int) -> None:
        n = max(0, self.counts.get(rep_id, 0) + delta)
        self.counts[rep_id] = n
        rep = self.reps.get(rep_id)
        if rep is not None:
            self.reps[rep_id] = rep.with_open_leads(n)

    def save(self, uow: UnitOfWork, now: datetime) -> None:
        """Write the round-robin pools that changed since the team was loaded or saved, and
        the records of the decisions made since (at commit)."""
        repo.save_rr_state(uow, self.state, self.stored, now)
        if self.trial is not None:
            self.trial.write(uow)
        self.log.write(uow)
        self.stored = {pool: dict(weights) for pool, weights in self.state.items()}


class TeamCache:
    """The team as the last committed routing transaction of this process left it.

    Every routing change takes the routing lock, which bumps the generation; a team saved
    after the commit of generation g is therefore current exactly when the next lock
    returns g + 1 — nobody, here or in another replica, changed anything in between. Any
    other generation, a rollback, or `fresh` (the periodic passes, which also notice what
    was changed behind the service's back) loads the team from the database again.

    A transaction takes the team out while it works on it and puts it back when it
    commits, so it must change counts and weights through the team only, after taking it.
    (The kernel's sessions do not expire on commit: the kept rep rows stay readable.)
    """

    def __init__(self) -> None:
        self._team: Team | None = None
        self._generation = -1
        self._snapshots: set[str] = set()  # the replay's team snapshots stored already
        self._snapshots_since = time.monotonic()

    async def take(self, uow: UnitOfWork, generation: int, *, fresh: bool = False) -> Team:
        """The team for the transaction whose `repo.lock_routing` returned `generation`."""
        team, self._team = self._team, None
        if fresh or team is None or self._generation != generation - 1:
            team = await Team.load(uow.session)
        if time.monotonic() - self._snapshots_since > SNAPSHOTS_KNOWN_SECONDS:
            # Stored again (its created_at renewed) at its next use: a snapshot in use is
            # never old enough for the replay record's retention to delete it.
            self._snapshots, self._snapshots_since = set(), time.monotonic()
        team.log.known, team.log.generation = self._snapshots, generation
        self._keep_when_committed(uow, team, generation)
        return team

    def _keep_when_committed(self, uow: UnitOfWork, team: Team, generation: int) -> None:
        def committed() -> None:
            # Another transaction of this process may have committed a later generation.
            if generation > self._generation:
                self._team, self._generation = team, generation

        uow.on_commit(committed)
