"""What the replay record keeps of an erased lead's routing decisions: coarse facts only.

A decision records the facts rules read (`recording.FACTS`): country, company size,
industry, score. For an erased lead those are coarsened (`coarse_facts`) so that what the
person typed or what singles the company out is gone, while every rule set the record
knows routes the decision as before:

- the company size becomes its band (`size_band`, [min, max], max None: open) between the
  cut points routing reads: the segments' (0, 100, 1000) and each `min_employees` and
  `max_employees` + 1 of the rule sets given (`vocabulary`); `company_size` keeps the
  band's lowest size, which stands for it (every size of a band matches the same rules
  and segment);
- the industry stays only when one of those rule sets names it (case-insensitively, as
  rules match); any other value matches no rule that names industries, as None does;
- the country stays as an ISO 3166-1 alpha-2 code; anything else becomes "ZZ" (ISO's code
  for unknown), which, like it, matches no rule or territory and is not None;
- the score stays (a number lead-scoring computed, not the person's), as do the account
  owner, the reps avoided and the outcome (rep ids) and a split experiment's name.

Erasure keeps the same of the lead's assignment row (its lead and facts) and of the lead
in its stored webhooks (`erasure.strip`): nothing routes an erased lead again.

The record never held the lead's domains or company name (the account match is stored as
the owner's rep id). Under a draft naming another industry or cutting sizes elsewhere an
erased lead may route differently (docs/what-if-lab.md says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sales_assignment.places import SEGMENTS

UNKNOWN_COUNTRY = "ZZ"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What an erased lead's decisions may keep: size cut points and named industries."""

    cuts: tuple[int, ...]  # ascending: each starts a band
    industries: frozenset[str]  # casefolded

    def band(self, size: int) -> list[int | None]:
        """[min, max] of the band holding a company size (None: open that way)."""
        low = max((c for c in self.cuts if c <= size), default=None)
        above = [c for c in self.cuts if c > size]
        return [low, min(above) - 1 if above else None]


def vocabulary(rule_sets: Iterable[Sequence[Mapping[str, Any]]]) -> Vocabulary:
    """The cut points and named industries of these rule sets (as `rules.rule_docs` writes
    them) and of the segments reps are limited to."""
    cuts = {low for low, _ in SEGMENTS.values()}
    industries: set[str] = set()
    for rules in rule_sets:
        for rule in rules:
            low, high = rule.get("min_employees"), rule.get("max_employees")
            if isinstance(low, int):
                cuts.add(low)
            if isinstance(high, int):
                cuts.add(high + 1)
            industries.update(str(i).casefold() for i in rule.get("industries") or ())
    return Vocabulary(tuple(sorted(cuts)), frozenset(industries))


def _country(value: object) -> str | None:
    if value is None:
        return None
    code = str(value)
    return code if len(code) == 2 and code.isascii() and code.isalpha() else UNKNOWN_COUNTRY


def coarse_facts(facts: Mapping[str, Any], vocab: Vocabulary) -> dict[str, Any]:
    """A decision's recorded facts as an erased lead keeps them (see the module)."""
    doc = dict(facts)
    size = facts.get("company_size")
    if isinstance(size, int) and "size_band" not in facts:  # coarsened once only
        band = vocab.band(size)
        # Below the lowest cut (a negative size) one below it stands for the open band.
        doc["company_size"] = band[0] if band[0] is not None else vocab.cuts[0] - 1
        doc["size_band"] = band
    industry = facts.get("industry")
    if industry is not None and str(industry).casefold() not in vocab.industries:
        doc["industry"] = None
    doc["country"] = _country(facts.get("country"))
    return doc
