"""The replay record: what each routing decision needed, written in its own transaction.

A routing team (`team.Team`) routes every lead of a transaction, and a cached team goes on
routing in the next transactions as long as nobody changed anything in between (the routing
lock's generation says so). So the record follows the team:

- a *snapshot*: the reps as routing saw them (configuration, no names or emails) and the
  rules, keyed by a hash of that content — written once however many teams share it;
- a *checkpoint*, once per team, at its first decision: the open-lead counts and the
  round-robin weights it started from (lists in the snapshot's rep order);
- a *decision* per lead routed: order (generation, step), kind, the facts rules read
  (country, size, industry, score: nothing personal), the account owner it matched (a rep
  id, never the lead's domain or company name), who it had to avoid (`exclude`) or may never
  have (`barred`), who held it before, and the outcome (rep, or nobody: queued).

Counts and weights between decisions follow from the decisions themselves (`replay`), which
is why one checkpoint per team is enough. Rows are staged in the unit of work and inserted
at commit with the decision's assignment and history.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadflow.uow import UnitOfWork
from sales_assignment import repo
from sales_assignment.facts import Rep
from sales_assignment.replay_models import CheckpointRow, DecisionRow, SnapshotRow
from sales_assignment.routing import Assignment, NoRepAvailable
from sales_assignment.rules import OWNER_RULE, RoutingRule, rule_docs

# Kinds of decision: a new MQL, a recycled one qualified again, a queued lead drained, an
# SLA miss re-routed, a decline, a rep retired.
KINDS = ("new", "recycled", "queue", "sla", "declined", "retired")
FACTS = ("country", "company_size", "industry", "score")


def rep_config(rep: Rep) -> dict[str, Any]:
    """What routing reads of a rep, besides its open-lead count (no name, no email)."""
    return {
        "rep_id": str(rep.rep_id),
        "active": rep.active,
        "weight": rep.weight,
        "max_open_leads": rep.max_open_leads,
        "territories": list(rep.territories),
        "segments": list(rep.segments),
        "timezone": rep.timezone,
        "working_hours": {k: list(v) for k, v in (rep.working_hours or {}).items()} or None,
        "out_of_office": [[s.isoformat(), e.isoformat()] for s, e in rep.out_of_office],
    }


def snapshot_doc(
    reps: Sequence[Rep], rules: Sequence[RoutingRule], version: int
) -> tuple[str, dict[str, Any]]:
    """A snapshot's id (the hash of its content) and content."""
    doc = {
        "rules_version": version,
        "rules": rule_docs(rules),
        "reps": [rep_config(rep) for rep in reps],
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest(), doc


@dataclass
class DecisionLog:
    """One team's record: its snapshot and checkpoint (made at its first decision) and the
    decisions not staged yet. `known` is the process's set of snapshots already stored."""

    known: set[str] = field(default_factory=set)
    generation: int = 0
    step: int = 0
    snapshot_id: str | None = None
    checkpoint_id: uuid.UUID | None = None
    _snapshot: dict[str, Any] | None = None
    _checkpoint: dict[str, Any] | None = None
    _decisions: list[dict[str, Any]] = field(default_factory=list)

    def start(
        self,
        reps: Sequence[Rep],
        rules: Sequence[RoutingRule],
        version: int,
        counts: Mapping[uuid.UUID, int],
        state: Mapping[str, Mapping[str, int]],
        *,
        now: datetime,
    ) -> None:
        """Take the checkpoint, before the team's first decision (once per team)."""
        if self.checkpoint_id is not None:
            return
        self.snapshot_id, doc = snapshot_doc(reps, rules, version)
        ids = [str(rep.rep_id) for rep in reps]
        if self.snapshot_id not in self.known:
            self._snapshot = doc | {"id": self.snapshot_id, "created_at": now}
        self.checkpoint_id = uuid.uuid4()
        self._checkpoint = {
            "id": self.checkpoint_id,
            "snapshot_id": self.snapshot_id,
            "counts": [counts.get(rep.rep_id, 0) for rep in reps],
            "rr": {pool: [w.get(i) for i in ids] for pool, w in state.items()},
            "created_at": now,
        }

    def decided(
        self,
        lead_id: uuid.UUID,
        facts: Mapping[str, Any],
        kind: str,
        result: Assignment | NoRepAvailable,
        now: datetime,
        *,
        prev: uuid.UUID | None,
        exclude: Collection[uuid.UUID] | None,
        barred: Collection[uuid.UUID] | None,
    ) -> None:
        """Record one decision (after `start`); `facts` as the assignment row holds them."""
        assert self.checkpoint_id is not None, "start() first"
        lines = result.reason.get("candidates") or [{}]
        # The account owner, when one matched, is the reason's first candidate.
        owner = lines[0].get("rep_id") if lines[0].get("step") == OWNER_RULE else None
        doc: dict[str, Any] = {name: facts.get(name) for name in FACTS}
        variant = result.reason.get("variant")
        if isinstance(variant, dict) and variant.get("arm") == "variant":
            doc["variant"] = str(variant.get("experiment"))  # routed by other rules
        self.step += 1
        self._decisions.append(
            {
                "generation": self.generation,
                "step": self.step,
                "checkpoint_id": self.checkpoint_id,
                "decided_at": now,
                "lead_id": lead_id,
                "kind": kind,
                "facts": doc,
                "owner_id": uuid.UUID(owner) if owner else None,
                "prev_id": prev,
                "exclude": sorted(str(r) for r in exclude) if exclude is not None else None,
                "barred": sorted(str(r) for r in barred) if barred else None,
                "rep_id": result.rep_id if isinstance(result, Assignment) else None,
                "rule": result.rule,
            }
        )

    def write(self, uow: UnitOfWork) -> None:
        """Stage what was recorded since the last write, to insert at commit."""
        if self._snapshot is not None:
            snapshot_id = self._snapshot["id"]
            uow.before_commit(_store_snapshots, [self._snapshot])
            uow.on_commit(lambda: self.known.add(snapshot_id))
            self._snapshot = None
        if self._checkpoint is not None and self._decisions:
            repo.add_rows(uow, CheckpointRow, [self._checkpoint])
            self._checkpoint = None
        if self._decisions:
            repo.add_rows(uow, DecisionRow, self._decisions)
            self._decisions = []


async def _store_snapshots(uow: UnitOfWork, docs: list[dict[str, Any]]) -> None:
    """Stage the transaction's new snapshots, each once (two teams of one transaction may
    share one), as upserts: a snapshot stored before is the same content."""
    unique = list({doc["id"]: doc for doc in docs}.values())
    repo.add_rows(uow, SnapshotRow, unique, replace=True)
