"""Scoring a lead: explainable rules blended with what outcomes taught the learned model.

Blend. Let R be the rules score (0-100, after caps), p the learned model's P(won), L = 100 p
and n the number of outcomes the model has learned from. The learned part's weight is

    w(n) = 0                                       if n < MIN_OUTCOMES (200)
    w(n) = min(MAX_WEIGHT, m / (m + RAMP))         otherwise, with m = n - MIN_OUTCOMES

with MAX_WEIGHT = 0.5 and RAMP = 1000: w rises continuously from 0 at 200 outcomes, is 1/3 at
700 and reaches its cap of 0.5 at 1,200. Rules never drop below half the score, so the
threshold the marketing team set keeps its meaning. The score is

    score = clamp(round((1 - w) R + w L), 0, 100),   qualified = score >= threshold.

Factors explain this score: each fired rule (and each cap that bit) with its points x (1 - w),
and the learned model's per-attribute contributions x w, largest |points| first (ties keep
rule order), at most MAX_FACTORS. Without a learned part they are exactly the rule points and
add up to the score. model_version is "rules-<v>", or "rules-<v>+learned-<n>" from
MIN_OUTCOMES on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lead_scoring.model import LearnedModel
from lead_scoring.rules import RuleSet, apply_rules, lead_facts
from leadflow.events import Factor, Lead

MIN_OUTCOMES = 200
MAX_WEIGHT = 0.5
RAMP = 1000
MAX_FACTORS = 12
_MIN_LEARNED_POINTS = 0.5  # smaller learned effects are noise to a reader


@dataclass(frozen=True, slots=True)
class Score:
    """A lead's score, whether it is an MQL, and why."""

    score: int
    qualified: bool
    threshold: int
    factors: list[Factor]
    model_version: str
    scored_at: datetime

    def to_doc(self) -> dict[str, Any]:
        """The JSON shape of GET /v1/scores/{lead_id} (and of a leads.scored event's score)."""
        return {
            "score": self.score,
            "qualified": self.qualified,
            "threshold": self.threshold,
            "factors": [f.model_dump(mode="json") for f in self.factors],
            "model_version": self.model_version,
        }


def learned_weight(n_outcomes: int) -> float:
    """The weight w of the learned part after n outcomes (see the module docstring)."""
    if n_outcomes < MIN_OUTCOMES:
        return 0.0
    m = n_outcomes - MIN_OUTCOMES
    return min(MAX_WEIGHT, m / (m + RAMP))


def blended(rule_points: int, w: float, p_won: float) -> int:
    """The score of a rules score and the learned P(won) at weight w (module docstring)."""
    return max(0, min(100, round((1.0 - w) * rule_points + w * 100.0 * p_won)))


def model_version(rules: RuleSet, model: LearnedModel | None) -> str:
    """Which rules and model made a score: "rules-<v>" or "rules-<v>+learned-<n>"."""
    base = f"rules-{rules.version}"
    if model is None or model.n_outcomes < MIN_OUTCOMES:
        return base
    return f"{base}+{model.version}"


def score(
    lead: Lead,
    rules: RuleSet,
    model: LearnedModel | None,
    *,
    touches: int = 1,
    now: datetime,
) -> Score:
    """Score a lead with the rules and, once it has learned enough, the model; stamped `now`.

    `touches` is how often the lead was captured (LeadCaptured.touch), for `touches` rules.
    """
    outcome = apply_rules(rules, lead_facts(lead, touches=touches))
    w = learned_weight(model.n_outcomes) if model is not None else 0.0
    if w == 0.0:  # rule factors are already whole points
        factors = list(outcome.factors)
    else:
        factors = [
            Factor(name=f.name, points=round(f.points * (1.0 - w), 1), reason=f.reason)
            for f in outcome.factors
        ]
    p_won = 0.0
    if model is not None and model.n_outcomes >= MIN_OUTCOMES:
        p_won = model.probability(lead)
        factors += [
            Factor(name=c.name, points=round(c.points * w, 1), reason=c.reason)
            for c in model.contributions(lead)
            if abs(c.points * w) >= _MIN_LEARNED_POINTS
        ]
    factors.sort(key=lambda f: -abs(f.points))  # stable: equal weights keep rule order
    value = blended(outcome.points, w, p_won)
    return Score(
        score=value,
        qualified=value >= rules.threshold,
        threshold=rules.threshold,
        factors=factors[:MAX_FACTORS],
        model_version=model_version(rules, model),
        scored_at=now,
    )
