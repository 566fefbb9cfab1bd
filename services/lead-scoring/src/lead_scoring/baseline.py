"""Odoo CRM's predictive lead scoring, the baseline `model.LearnedModel` is measured against
(tests and bench/scoring_quality.py); the service never scores with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from lead_scoring.model import UNKNOWN, attributes
from leadflow.events import Lead


@dataclass
class OdooBaseline:
    """Odoo CRM predictive lead scoring (naive Bayes on won/lost frequencies), for comparison.

    As Odoo does: every (field, value) count starts at 0.1 won and 0.1 lost; P(won) x the
    product of won(f, v) / sum of won(f, .) is compared with the same for lost, normalised
    between the two; empty fields and values never seen are skipped.
    """

    n_won: int = 0
    n_lost: int = 0
    counts: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    totals: dict[str, list[float]] = field(default_factory=dict)

    @property
    def n_outcomes(self) -> int:
        """How many won or lost leads it has seen."""
        return self.n_won + self.n_lost

    def update(self, lead: Lead, won: bool) -> None:
        """Count one won or lost lead."""
        self.n_won += int(won)
        self.n_lost += int(not won)
        for attr, value in attributes(lead).items():
            if value == UNKNOWN:
                continue
            values = self.counts.setdefault(attr, {})
            total = self.totals.setdefault(attr, [0.0, 0.0])
            if value not in values:
                values[value] = [0.1, 0.1]
                total[0] += 0.1
                total[1] += 0.1
            i = 0 if won else 1
            values[value][i] += 1.0
            total[i] += 1.0

    def probability(self, lead: Lead) -> float:
        """Odoo's P(won) for a lead (0.5 before any outcome)."""
        if not self.n_outcomes:
            return 0.5
        s_won, s_lost = self.n_won / self.n_outcomes, self.n_lost / self.n_outcomes
        for attr, value in attributes(lead).items():
            counts = self.counts.get(attr, {}).get(value)
            if counts is None:
                continue
            total_won, total_lost = self.totals[attr]
            s_won *= counts[0] / total_won
            s_lost *= counts[1] / total_lost
        return s_won / (s_won + s_lost) if s_won + s_lost > 0 else 0.0
