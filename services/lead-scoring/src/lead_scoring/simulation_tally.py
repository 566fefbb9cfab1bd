"""A scoring simulation's arithmetic (pure): past leads scored two ways, and what they tally.

Each past lead is scored as today's scoring would score it (`domain.blended`: its rules
score, blended with what the learned model knows today at today's weight) once with the
active rules and threshold ("now") and once with the draft ("draft"); the learned part is
the same both ways, it is no draft parameter. An MQL is a score at or above the way's
threshold (recycling's gate, which keeps a rejected lead from qualifying until a later
touch, is not replayed: a simulation asks which leads the definition lets in).

For the MQLs of each way whose verdict is known (won, lost or rejected by sales), the win
rate is won / (won + lost + rejected), as `GET /v1/scoring/model` counts it: a rejected MQL
is one the definition should not have let in. Its 95 % Wilson interval comes with it, both
null below `min_verdicts` verdicts (`insufficient_data`). Revenue is the sum of the won
MQLs' amounts, per currency.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lead_scoring.domain import blended, learned_weight
from lead_scoring.model import LearnedModel, facts_attributes
from lead_scoring.rules import LeadFacts, RuleSet, apply_rules
from leadflow.stats import wilson_interval

SAMPLE = 100  # lead ids shown of the leads whose qualification changes, each way


@dataclass(frozen=True, slots=True)
class Way:
    """A rule set and the threshold an MQL must reach with it."""

    rules: RuleSet
    threshold: int


@dataclass(frozen=True, slots=True)
class PastLead:
    """What a simulation knows of a past lead: its facts and sales's verdict, if any."""

    lead_id: uuid.UUID
    facts: LeadFacts
    erased: bool = False
    verdict: str | None = None  # won | lost | rejected
    amount: Decimal | None = None  # of a won verdict
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Learned:
    """Today's learned model and its weight w, worked out once for a whole simulation."""

    model: LearnedModel | None
    weight: float

    @classmethod
    def of(cls, model: LearnedModel | None) -> Learned:
        return cls(model, learned_weight(model.n_outcomes) if model is not None else 0.0)

    def part(self, facts: LeadFacts) -> tuple[float, float]:
        """(w, P(won)) for these facts; (0, 0) before the model has learned enough to
        count. The same both ways."""
        if self.model is None or self.weight == 0.0:
            return 0.0, 0.0
        return self.weight, self.model.probability_of(facts_attributes(facts))


def qualifies(facts: LeadFacts, way: Way, learned: tuple[float, float]) -> bool:
    """Whether today's scoring, with this way's rules and threshold, makes the facts an MQL."""
    w, p_won = learned
    return blended(apply_rules(way.rules, facts).points, w, p_won) >= way.threshold


@dataclass
class Verdicts:
    """Sales's verdicts on one way's MQLs, and the won ones' revenue per currency."""

    won: int = 0
    lost: int = 0
    rejected: int = 0
    revenue: dict[str, Decimal] = field(default_factory=dict)
    won_without_amount: int = 0

    def add(self, lead: PastLead) -> None:
        """Count one MQL's verdict (nothing when it has none)."""
        if lead.verdict == "won":
            self.won += 1
            if lead.amount is None or lead.currency is None:
                self.won_without_amount += 1
            else:
                self.revenue[lead.currency] = self.revenue.get(lead.currency, 0) + lead.amount
        elif lead.verdict == "lost":
            self.lost += 1
        elif lead.verdict == "rejected":
            self.rejected += 1

    def report(self, min_verdicts: int) -> dict[str, Any]:
        """The JSON shape of one way's outcomes."""
        verdicts = self.won + self.lost + self.rejected
        enough = verdicts >= min_verdicts and verdicts > 0
        interval = wilson_interval(self.won, verdicts) if enough else None
        return {
            "verdicts": verdicts,
            "won": self.won,
            "lost": self.lost,
            "rejected": self.rejected,
            "win_rate": round(self.won / verdicts, 4) if enough else None,
            "wilson_lower": round(interval[0], 4) if interval else None,
            "wilson_upper": round(interval[1], 4) if interval else None,
            "insufficient_data": not enough,
            "revenue": [
                {"currency": c, "amount": str(self.revenue[c])} for c in sorted(self.revenue)
            ],
            "won_without_amount": self.won_without_amount,
        }


@dataclass
class Changed:
    """Leads whose qualification changes one way: how many, and the first SAMPLE ids."""

    count: int = 0
    lead_ids: list[str] = field(default_factory=list)

    def add(self, lead_id: uuid.UUID, sample: int) -> None:
        self.count += 1
        if len(self.lead_ids) < sample:
            self.lead_ids.append(str(lead_id))


@dataclass
class Tally:
    """A simulation's running totals: memory stays bounded whatever the number of leads."""

    now: Way
    draft: Way
    model: LearnedModel | None
    sample: int = SAMPLE
    learned: Learned = field(init=False)
    leads: int = 0
    erased: int = 0
    unscorable: int = 0
    mqls_now: int = 0
    mqls_draft: int = 0
    became_mql: Changed = field(default_factory=Changed)
    stopped_being_mql: Changed = field(default_factory=Changed)
    outcomes_now: Verdicts = field(default_factory=Verdicts)
    outcomes_draft: Verdicts = field(default_factory=Verdicts)

    def __post_init__(self) -> None:
        self.learned = Learned.of(self.model)  # the model's weight, not each lead's

    def add(self, lead: PastLead) -> tuple[bool, bool]:
        """Score one past lead both ways and count it; returns (MQL now, MQL with the draft)."""
        learned = self.learned.part(lead.facts)
        now = qualifies(lead.facts, self.now, learned)
        draft = qualifies(lead.facts, self.draft, learned)
        self.leads += 1
        self.erased += lead.erased
        if now:
            self.mqls_now += 1
            self.outcomes_now.add(lead)
        if draft:
            self.mqls_draft += 1
            self.outcomes_draft.add(lead)
        if draft and not now:
            self.became_mql.add(lead.lead_id, self.sample)
        elif now and not draft:
            self.stopped_being_mql.add(lead.lead_id, self.sample)
        return now, draft

    def skip(self) -> None:
        """Count an erased lead of which nothing was kept to score it from (erased before
        lead-scoring kept the facts, `kept`): in `leads`, in no MQL count."""
        self.leads += 1
        self.erased += 1
        self.unscorable += 1

    def report(self, min_verdicts: int) -> dict[str, Any]:
        """The counts of the answer (the caller adds the window, rules and model)."""
        return {
            "leads": self.leads,
            "erased": self.erased,
            "unscorable": self.unscorable,
            "mqls_now": self.mqls_now,
            "mqls_draft": self.mqls_draft,
            "became_mql": {"count": self.became_mql.count, "lead_ids": self.became_mql.lead_ids},
            "stopped_being_mql": {
                "count": self.stopped_being_mql.count,
                "lead_ids": self.stopped_being_mql.lead_ids,
            },
            "outcomes": {
                "now": self.outcomes_now.report(min_verdicts),
                "draft": self.outcomes_draft.report(min_verdicts),
            },
            "min_verdicts": min_verdicts,
        }
