"""What the replay reads (pure values): recorded teams and decisions, and a draft to try.

`Snapshot`, `Checkpoint` and `Decision` are the rows of `recording` read back; `Draft` is a
simulation's rule set and rep changes, applied to each snapshot's reps as the replay meets it.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sales_assignment.facts import Rep
from sales_assignment.rules import RoutingRule, validate_rules


class RepId(uuid.UUID):
    """A rep id that keeps its text and hash: routing formats and hashes rep ids for every
    candidate of every decision, which a replay of 100,000 decisions feels (equal to, and
    hashed as, the plain UUID)."""

    __slots__ = ("_hash", "_text")
    _hash: int
    _text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)
        object.__setattr__(self, "_text", super().__str__())
        object.__setattr__(self, "_hash", super().__hash__())

    def __str__(self) -> str:
        return self._text

    def __hash__(self) -> int:
        return self._hash


@functools.lru_cache(maxsize=8192)
def rep_id(value: str | uuid.UUID) -> RepId:
    """The one `RepId` of this id (reps are few; their ids recur in every decision)."""
    return RepId(str(value))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A recorded team configuration: reps (open leads 0) and rules."""

    snapshot_id: str
    reps: tuple[Rep, ...]
    rules: tuple[RoutingRule, ...]
    rules_version: int

    @classmethod
    def of(cls, snapshot_id: str, doc: Mapping[str, Any]) -> Snapshot:
        """From the stored document (`recording.snapshot_doc`)."""
        return cls(
            snapshot_id,
            tuple(rep_of(r) for r in doc["reps"]),
            tuple(validate_rules(doc["rules"])),
            int(doc["rules_version"]),
        )


def rep_of(doc: Mapping[str, Any]) -> Rep:
    """A rep from its recorded configuration (`recording.rep_config`)."""
    return Rep(
        rep_id=rep_id(str(doc["rep_id"])),
        name=str(doc.get("name") or ""),
        email="",
        active=bool(doc.get("active", True)),
        weight=int(doc.get("weight", 1)),
        max_open_leads=doc.get("max_open_leads"),
        territories=tuple(doc.get("territories") or ()),
        segments=tuple(doc.get("segments") or ()),
        timezone=str(doc.get("timezone") or "UTC"),
        working_hours=doc.get("working_hours") or None,
        out_of_office=tuple(
            (datetime.fromisoformat(s), datetime.fromisoformat(e))
            for s, e in doc.get("out_of_office") or ()
        ),
    )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a recorded team started: its snapshot, counts and weights (snapshot order)."""

    checkpoint_id: uuid.UUID
    snapshot_id: str
    counts: tuple[int, ...]
    rr: Mapping[str, Sequence[int | None]]


@dataclass(frozen=True, slots=True)
class Decision:
    """One recorded routing decision (`recording.DecisionLog.decided`)."""

    checkpoint_id: uuid.UUID
    decided_at: datetime
    lead_id: uuid.UUID
    kind: str
    facts: Mapping[str, Any]
    owner_id: uuid.UUID | None
    prev_id: uuid.UUID | None
    exclude: frozenset[uuid.UUID] | None
    barred: frozenset[uuid.UUID]
    rep_id: uuid.UUID | None
    rule: str


@dataclass(frozen=True, slots=True)
class RepChange:
    """One change of a draft roster: add, deactivate, reweight, leave (an absence) or cap."""

    action: str
    rep_id: uuid.UUID
    weight: int | None = None
    max_open_leads: int | None = None
    leave: tuple[datetime, datetime] | None = None
    rep: Rep | None = None  # the rep added


@dataclass(frozen=True, slots=True)
class Draft:
    """What a simulation tries: rules instead of the recorded ones, and rep changes."""

    rules: tuple[RoutingRule, ...] | None = None
    changes: tuple[RepChange, ...] = ()
    _cache: dict[str, tuple[Rep, ...]] = field(default_factory=dict, compare=False)

    @property
    def empty(self) -> bool:
        return self.rules is None and not self.changes

    def reps(self, snapshot: Snapshot) -> tuple[Rep, ...]:
        """The snapshot's reps with the draft's changes (the added reps last)."""
        found = self._cache.get(snapshot.snapshot_id)
        if found is None:
            found = self._cache[snapshot.snapshot_id] = self._apply(snapshot.reps)
        return found

    def _apply(self, reps: Sequence[Rep]) -> tuple[Rep, ...]:
        out = {rep.rep_id: rep for rep in reps}
        for change in self.changes:
            rep = out.get(change.rep_id)
            if change.action == "add" and change.rep is not None:
                out[change.rep_id] = change.rep
            elif rep is None:
                continue  # not on the team then: the change has nothing to act on
            elif change.action == "deactivate":
                out[rep.rep_id] = replace(rep, active=False)
            elif change.action == "reweight" and change.weight is not None:
                out[rep.rep_id] = replace(rep, weight=change.weight)
            elif change.action == "cap":
                out[rep.rep_id] = replace(rep, max_open_leads=change.max_open_leads)
            elif change.action == "leave" and change.leave is not None:
                out[rep.rep_id] = replace(rep, out_of_office=(*rep.out_of_office, change.leave))
        return tuple(out.values())
