"""The fairness ledger, read from recorded routing decisions (pure).

A routing decision's reason lists its candidates (`leads.assigned`'s `reason.candidates`):
`rep_id`, `name`, `eligible`, `skipped` (why not, in words) and, since the ledger began,
`weight` (the rep's round-robin weight at that moment). Over a window, per rep: the
decisions it was eligible in, the leads it could expect (the sum over those decisions of its
weight ÷ the eligible weight), the leads it got, and why it was skipped, by kind.

It lives in the kernel because two services read the same candidates: sales-assignment
(`GET /v1/routing/fairness`, from its own history) and feedback (the sales-ops page, from the
`leads.assigned` events it consumes); one reading keeps the two in agreement.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# What a candidate's `skipped` text starts with → its kind (the routing's own wording).
SKIP_KINDS: tuple[tuple[str, str], ...] = (
    ("inactive", "inactive"),
    ("out_of_office", "out_of_office"),
    ("outside working hours", "outside_working_hours"),
    ("at capacity", "at_capacity"),
    ("territory:", "territory"),
    ("segment:", "segment"),
    ("weight 0", "weight_zero"),
    ("unknown rep", "unknown_rep"),
    ("already tried", "already_tried"),
    ("declined", "declined"),
)
OTHER = "other"


def skip_kind(text: str | None) -> str:
    """The kind of a `skipped` text (`at capacity 25/25` → `at_capacity`); unknown → other."""
    words = (text or "").strip().lower()
    return next((kind for prefix, kind in SKIP_KINDS if words.startswith(prefix)), OTHER)


@dataclass(frozen=True, slots=True)
class Line:
    """One rep in one decision: eligible with its share of the lead, or why not."""

    rep_id: str
    name: str | None
    eligible: bool
    weight: int | None
    share: float  # weight ÷ the eligible weight of the decision; 0 when not eligible
    chosen: bool
    skipped: tuple[str, ...] = ()  # kinds, when not eligible


def decision_lines(
    candidates: Sequence[Mapping[str, Any]], chosen: str | None
) -> list[Line] | None:
    """One line per rep of a decision (`chosen`: the rep who got the lead, None if queued).

    None when the decision predates the ledger (a candidate without a recorded `weight`):
    its shares cannot be known, and today's weights would not say what they were then.
    A rep listed twice (account owner, then pool) is eligible if either line is; the
    eligible weight is shared by weight, or evenly when it is all 0 (an owner of weight 0).
    """
    merged: dict[str, dict[str, Any]] = {}
    for c in candidates:
        rep_id = c.get("rep_id")
        if not isinstance(rep_id, str):
            continue
        if "weight" not in c:
            return None
        line = merged.setdefault(
            rep_id, {"name": c.get("name"), "weight": c["weight"], "eligible": False, "why": []}
        )
        if c.get("eligible"):
            line["eligible"] = True
        elif (kind := skip_kind(c.get("skipped"))) not in line["why"]:
            line["why"].append(kind)
    eligible = [m for m in merged.values() if m["eligible"]]
    total = sum(int(m["weight"] or 0) for m in eligible)
    lines = []
    for rep_id, m in merged.items():
        weight = m["weight"] if isinstance(m["weight"], int) else None
        share = 0.0
        if m["eligible"]:
            share = (weight or 0) / total if total else 1 / len(eligible)
        lines.append(
            Line(
                rep_id=rep_id,
                name=m["name"] if isinstance(m["name"], str) else None,
                eligible=m["eligible"],
                weight=weight,
                share=share,
                chosen=rep_id == chosen,
                skipped=() if m["eligible"] else tuple(m["why"]),
            )
        )
    return lines


@dataclass(slots=True)
class RepFairness:
    """One rep's figures over a window."""

    rep_id: str
    name: str | None = None
    eligible: int = 0
    expected: float = 0.0
    actual: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    declined: int = 0  # of `actual`, the leads the rep declined (sales-assignment counts them)

    def add(self, line: Line) -> None:
        """Count one decision's line of this rep."""
        self.name = line.name or self.name
        self.eligible += line.eligible
        self.expected += line.share
        self.actual += line.chosen
        for kind in line.skipped:
            self.skipped[kind] = self.skipped.get(kind, 0) + 1


def tally(decisions: Iterable[Sequence[Line]]) -> list[RepFairness]:
    """Sum decisions' lines per rep, in `ordered` order."""
    reps: dict[str, RepFairness] = {}
    for lines in decisions:
        for line in lines:
            reps.setdefault(line.rep_id, RepFairness(line.rep_id)).add(line)
    return ordered(reps.values())


def ordered(reps: Iterable[RepFairness]) -> list[RepFairness]:
    """By name, then id; expected rounded to 2 places for display."""
    out = sorted(reps, key=lambda r: ((r.name or "").casefold(), r.rep_id))
    for r in out:
        r.expected = round(r.expected, 2)
        r.skipped = dict(sorted(r.skipped.items()))
    return out


__all__ = [
    "OTHER",
    "SKIP_KINDS",
    "Line",
    "RepFairness",
    "decision_lines",
    "ordered",
    "skip_kind",
    "tally",
]
