"""The routing inputs of one transaction: reps, open-lead counts, policy and round robin.

Loaded under the routing lock (`repo.lock_routing`) and carried across a batch of leads, so
each decision sees the counts and round-robin weights the previous one left behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from sales_assignment import repo
from sales_assignment.models import AssignmentRow, RepRow
from sales_assignment.payloads import facts_of, to_rep
from sales_assignment.routing import Assignment, NoRepAvailable, RoutingPolicy, reroute, route
from sales_assignment.rules import RoutingRule, validate_rules


@dataclass
class Team:
    """The reps, their open-lead counts, owners, rules and round-robin state."""

    rows: dict[uuid.UUID, RepRow]
    counts: dict[uuid.UUID, int]
    state: dict[str, dict[str, int]]
    owners: dict[str, uuid.UUID] = field(default_factory=dict)
    rules: list[RoutingRule] = field(default_factory=list)
    rules_version: int = 0
    changed: bool = field(default=False)

    @classmethod
    async def load(cls, session: AsyncSession) -> Team:
        rows = {r.rep_id: r for r in await repo.live_reps(session)}
        ruleset = await repo.active_rules(session)
        return cls(
            rows,
            await repo.open_counts(session),
            await repo.rr_state(session),
            owners={o.domain: o.rep_id for o in await repo.account_owners(session)},
            # Stored rules were validated on the way in; validating again builds them.
            rules=validate_rules(ruleset.rules) if ruleset is not None else [],
            rules_version=ruleset.version if ruleset is not None else 0,
        )

    def route(
        self, row: AssignmentRow, now: datetime, tried: set[uuid.UUID] | None = None
    ) -> Assignment | NoRepAvailable:
        """Route the lead of `row`; `tried` (SLA re-routing) names reps to avoid if possible."""
        reps = [to_rep(r, self.counts.get(r.rep_id, 0)) for r in self.rows.values()]
        policy = RoutingPolicy(account_owners=self.owners, rules=self.rules, rr_state=self.state)
        facts = facts_of(row)
        if tried is None:
            result = route(facts, reps, policy, now=now)
        else:
            result = reroute(facts, reps, policy, now=now, tried=tried)
        if self.rules_version:
            result.reason["detail"] = f"rules v{self.rules_version}: {result.reason['detail']}"
        return result

    def took(self, result: Assignment, previous: uuid.UUID | None) -> None:
        self.state = result.new_rr_state
        self.changed = True
        self.counts[result.rep_id] = self.counts.get(result.rep_id, 0) + 1
        if previous is not None:
            self.counts[previous] = max(0, self.counts.get(previous, 0) - 1)

    async def save(self, session: AsyncSession, now: datetime) -> None:
        if self.changed:
            await repo.save_rr_state(session, self.state, now)
