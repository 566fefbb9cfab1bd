"""What lead-scoring keeps of an erased lead: coarse scoring facts, no free text, no instant.

On erasure the stored lead is dropped: email, names, phone, company, job title, website,
the attribution's free text, custom fields, consent, the rejection's reason code. Of its
`LeadFacts` the row keeps only values many leads share (`kept_facts`), not what the person
or their link typed:

- the company size as a band (`size_band`, [min, max]) between the cut points that matter
  (`Vocabulary`): the learned model's size bands (1-9, 10-49, 50-199, 200-999, 1000-4999,
  5000+) and each threshold of a company_size rule of the default and the active rules;
- industry, source, utm_source, utm_medium and utm_campaign only when a rule of those rule
  sets names the value (an industry "jane doe consulting" goes); the country only as an
  ISO 3166-1 alpha-2 code;
- three coarse facts derived from what was dropped: the seniority band of the job title,
  company or free-mail address, how many optional fields were filled.

Its factors keep the rules' and the learned ones about a kept value (`kept_factors`), its
times only their UTC day (`day`): a simulation's window places an erased lead at its day's
midnight. A simulation scores it from these facts (`facts_of`, the band's lowest size for the
band): exactly as before under any rule set whose size thresholds and named values are among
those; under another (a draft naming a new industry, or cutting sizes elsewhere) a dropped
value is unknown and the size the band's lowest, so it may score differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from lead_scoring.model import SIZE_BAND_STARTS, facts_attributes
from lead_scoring.models import LeadScore
from lead_scoring.rules import (
    DEFAULT_RULES,
    AttributionIn,
    CompanySize,
    IndustryIn,
    LeadFacts,
    RuleSet,
    lead_facts,
)
from lead_scoring.titles import Seniority
from leadflow.events import Lead

FORMAT = "leadflow.scoring.facts.v2"
NAMED = ("industry", "source", "utm_source", "utm_medium", "utm_campaign")
_LEARNED = "learned:"


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """What an erased lead may keep: the size cut points and the values rules name."""

    cuts: tuple[int, ...]  # ascending: each starts a band
    named: Mapping[str, frozenset[str]]  # per field of NAMED

    def band(self, size: int | None) -> list[int | None] | None:
        """[min, max] of the band holding a company size (max None: open)."""
        if size is None:
            return None
        low = max((c for c in self.cuts if c <= size), default=size)
        above = [c for c in self.cuts if c > size]
        return [low, min(above) - 1 if above else None]

    def keep(self, field: str, value: str | None) -> str | None:
        """The value if a rule names it for this field, else None."""
        return value if value in self.named.get(field, frozenset()) else None


def vocabulary(*rule_sets: RuleSet) -> Vocabulary:
    """The cut points and named values of these rule sets, the defaults and the model."""
    cuts = {0, *SIZE_BAND_STARTS}
    named: dict[str, set[str]] = {field: set() for field in NAMED}
    for rules in (DEFAULT_RULES, *rule_sets):
        for rule in rules.rules:
            when = rule.when
            if isinstance(when, CompanySize):
                cuts |= {when.min} if when.min is not None else set()
                cuts |= {when.max + 1} if when.max is not None else set()
            elif isinstance(when, IndustryIn):
                named["industry"].update(when.values)
            elif isinstance(when, AttributionIn):
                named[when.field].update(when.values)
    return Vocabulary(tuple(sorted(cuts)), {k: frozenset(v) for k, v in named.items()})


@dataclass
class Vocabularies:
    """The vocabulary of the active rules, built again only when their version changes (not
    once per erased lead)."""

    _built: tuple[int, Vocabulary] | None = None

    def of(self, version: int, rules: RuleSet) -> Vocabulary:
        """The vocabulary of rule set `version` (`rules`) and the defaults."""
        if self._built is None or self._built[0] != version:
            self._built = (version, vocabulary(rules))
        return self._built[1]


def _country(code: str | None) -> str | None:
    return code if code and len(code) == 2 and code.isascii() and code.isalpha() else None


def kept_facts(lead: Lead, vocab: Vocabulary) -> dict[str, Any]:
    """The JSON document of a lead's coarse scoring facts (touches aside: the row keeps
    those)."""
    f = lead_facts(lead)
    return {
        "format": FORMAT,
        "size_band": vocab.band(f.company_size),
        "industry": vocab.keep("industry", f.industry),
        "country": _country(f.country),
        "seniority": f.seniority,
        "email_type": f.email_type,
        "filled": f.filled,
        "attribution": {k: vocab.keep(k, v) for k, v in f.attribution.items()},
    }


def facts_of(doc: Mapping[str, Any], touches: int) -> LeadFacts:
    """The facts kept_facts stored, for a lead captured `touches` times (a band's lowest
    size stands for the band; v1 documents kept the exact size)."""
    band = doc.get("size_band")
    size = band[0] if isinstance(band, list) and band else doc.get("company_size")
    return LeadFacts(
        company_size=size,
        industry=doc.get("industry"),
        country=doc.get("country"),
        seniority=cast(Seniority | None, doc.get("seniority")),
        email_type=doc.get("email_type", "corporate"),
        filled=int(doc.get("filled", 0)),
        attribution=dict(doc.get("attribution") or {}),
        touches=touches,
    )


def kept_factors(factors: list[dict[str, Any]], facts: LeadFacts) -> list[dict[str, Any]]:
    """A score's factors an erased row keeps: the rules' (their names and reasons) and the
    learned ones about a value it kept (others name the dropped value)."""
    kept = {f"{_LEARNED}{k}={v}" for k, v in facts_attributes(facts).items()}

    def keeps(name: str) -> bool:
        return not name.startswith(_LEARNED) or name in kept

    return [f for f in factors if keeps(str(f.get("name", "")))]


def day(at: datetime) -> datetime:
    """The UTC day of a time (its midnight)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _day(at: datetime | None) -> datetime | None:
    return day(at) if at is not None else None


def erase(row: LeadScore, vocab: Vocabulary, now: datetime) -> None:
    """Drop a score row's personal data: keep its coarse facts, factors and days."""
    if row.lead is not None:  # what a simulation scores it from
        row.facts = kept_facts(Lead.model_validate(row.lead), vocab)
        row.factors = kept_factors(row.factors, facts_of(row.facts, row.touches))
    row.lead = None
    row.rejection_reason = None  # outcome reasons go, codes included (the contract)
    row.scored_at = day(row.scored_at)
    row.qualified_at = _day(row.qualified_at)
    row.rejected_at = _day(row.rejected_at)
    row.recycled_at = _day(row.recycled_at)
    row.erased_at = day(now)
