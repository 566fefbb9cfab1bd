"""A routing rule's fallback: who takes its leads when nobody in the rule's pool is eligible.

A fallback is one rep (`{"rep": "<rep_id>"}`) or a pool written as a rule's pool is
(`{"pool": ["<rep_id>", …]}` or `{"pool": "territory"}`), or the default pool, every rep
(`{"pool": "default"}`). Pure: routing asks it for the members, the rules API validates it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

TERRITORY: Literal["territory"] = "territory"
EVERYONE: Literal["default"] = "default"  # the default rule's pool: every rep
# A fallback's round-robin key (`hidden_pool`).
_RR_PREFIX = " fallback "

FallbackPool = Sequence[UUID] | Literal["territory", "default"]


def hidden_pool(prefix: str, name: str) -> str:
    """A round-robin key no rule's own can be: `prefix` starts with a space, which no rule
    name has (names are stripped), then the sha256 of the whole `name`, so no two names
    share one (`len(prefix) + 64` characters, within rr_state's 100)."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Fallback:
    """Exactly one of `rep` (that rep, outside any round robin) or `pool` (round robin)."""

    rep: UUID | None = None
    pool: FallbackPool | None = None

    def __post_init__(self) -> None:
        if (self.rep is None) == (self.pool is None):
            raise ValueError("a fallback names either a rep or a pool")
        if isinstance(self.pool, str) and self.pool not in (TERRITORY, EVERYONE):
            raise ValueError(f"pool must be {TERRITORY!r}, {EVERYONE!r} or a list of rep ids")

    @property
    def rep_ids(self) -> list[UUID]:
        """The reps the fallback names by id (to check they exist)."""
        if self.rep is not None:
            return [self.rep]
        return [] if isinstance(self.pool, str) or self.pool is None else list(self.pool)

    def members(
        self, country: str | None, reps: Iterable[tuple[UUID, frozenset[str]]]
    ) -> list[UUID]:
        """The fallback's reps for a lead of `country`; `reps` are (rep_id, territories)."""
        if self.pool == EVERYONE:
            return [rep_id for rep_id, _ in reps]
        if self.pool == TERRITORY:
            return [rep_id for rep_id, places in reps if country and country in places]
        return list(dict.fromkeys(self.rep_ids))

    def rr_pool(self, rule: str) -> str:
        """The round-robin state's key: the default pool's own, else one per rule."""
        if self.pool == EVERYONE:
            return EVERYONE
        return hidden_pool(_RR_PREFIX, rule)

    def doc(self) -> dict[str, object]:
        """The fallback as the rules document writes it."""
        if self.rep is not None:
            return {"rep": str(self.rep)}
        assert self.pool is not None
        return {"pool": self.pool if isinstance(self.pool, str) else [str(r) for r in self.pool]}
