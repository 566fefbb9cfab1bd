"""The benchmark's population generator and metrics, at a size that runs in a second."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# bench/ is a folder of scripts, not an installed package: import it from the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bench.synthetic import brier, deciles, generate, roc_auc
from lead_scoring.baseline import OdooBaseline
from lead_scoring.model import LearnedModel


@pytest.mark.parametrize(
    ("scores", "labels", "auc"),
    [
        ([0.1, 0.2, 0.8, 0.9], [False, False, True, True], 1.0),
        ([0.9, 0.8, 0.2, 0.1], [False, False, True, True], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [False, True, False, True], 0.5),
        ([0.1, 0.4, 0.35, 0.8], [False, False, True, True], 0.75),
        ([0.2, 0.5, 0.5, 0.9], [False, False, True, True], 0.875),
    ],
)
def test_computes_roc_auc_as_mann_whitney_with_ties_counted_half(
    scores: list[float], labels: list[bool], auc: float
) -> None:
    assert roc_auc(scores, labels) == pytest.approx(auc)


def test_refuses_auc_without_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        roc_auc([0.1, 0.2], [True, True])


def test_computes_brier_score_and_deciles() -> None:
    assert brier([1.0, 0.0, 0.5], [True, False, True]) == pytest.approx(0.25 / 3)
    probs = [i / 100 for i in range(100)]
    labels = [i >= 90 for i in range(100)]
    table = deciles(probs, labels)
    assert len(table) == 10
    assert table[0][0] == pytest.approx(0.045)
    assert table[-1][0] == pytest.approx(0.945)
    assert [actual for _, actual in table] == [0.0] * 9 + [1.0]


def test_generates_the_same_population_from_the_same_seed() -> None:
    a, b = generate(50, seed=3), generate(50, seed=3)
    assert [s.lead for s in a] == [s.lead for s in b]
    assert [s.won for s in a] == [s.won for s in b]
    assert [s.lead for s in generate(50, seed=4)] != [s.lead for s in a]


def test_learns_to_rank_synthetic_leads_after_two_thousand_outcomes() -> None:
    samples = generate(3_500, seed=11)
    train, test = samples[:2_000], samples[2_000:]
    learned, odoo = LearnedModel(), OdooBaseline()
    for s in train:
        learned.update(s.lead, s.won)
        odoo.update(s.lead, s.won)
    labels = [s.won for s in test]
    learned_p = [learned.probability(s.lead) for s in test]
    assert roc_auc(learned_p, labels) > 0.6
    assert roc_auc(learned_p, labels) > roc_auc([s.propensity for s in test], labels) - 0.08
    assert brier(learned_p, labels) < brier([odoo.probability(s.lead) for s in test], labels)
