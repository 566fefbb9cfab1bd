"""score(): rules, the learned model's ramp into the blend, threshold and explanations."""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lead_scoring.domain import MAX_FACTORS, Score, learned_weight, score
from lead_scoring.model import LearnedModel
from lead_scoring.rules import DEFAULT_RULES, RuleSet, parse_rules
from leadflow.events import Factor, Lead

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "email": "ada@acme.example",
        "captured_at": datetime(2025, 3, 1, tzinfo=UTC),
    }
    return Lead.model_validate(base | fields)


def rules_worth(points: int, threshold: int, version: str = "3") -> RuleSet:
    """A rule set that gives every corporate lead exactly `points`."""
    doc = {
        "threshold": threshold,
        "caps": {"fit": 100, "engagement": 100},
        "rules": [
            {
                "name": "corporate",
                "group": "fit",
                "when": {"kind": "email_domain", "type": "corporate"},
                "points": points,
                "reason": "company domain",
            }
        ],
    }
    return parse_rules(doc, version=version)


def trained(n: int) -> LearnedModel:
    model = LearnedModel()
    rng = random.Random(5)
    software, retail = lead(industry="Software"), lead(industry="Retail")
    for _ in range(n):
        is_software = rng.random() < 0.5
        won = rng.random() < (0.7 if is_software else 0.1)
        model.update(software if is_software else retail, won)
    return model


@pytest.mark.parametrize(
    ("n_outcomes", "weight"),
    [(0, 0.0), (199, 0.0), (200, 0.0), (700, 1 / 3), (1200, 0.5), (1_000_000, 0.5)],
)
def test_ramps_the_learned_weight_up_from_two_hundred_outcomes_to_half(
    n_outcomes: int, weight: float
) -> None:
    assert learned_weight(n_outcomes) == pytest.approx(weight)


def test_never_lowers_the_learned_weight_as_outcomes_accumulate() -> None:
    weights = [learned_weight(n) for n in range(0, 3000, 10)]
    assert weights == sorted(weights)


@pytest.mark.parametrize(
    ("points", "threshold", "qualified"),
    [(60, 60, True), (59, 60, False), (100, 100, True), (0, 0, True), (10, 11, False)],
)
def test_qualifies_a_lead_whose_score_reaches_the_threshold(
    points: int, threshold: int, qualified: bool
) -> None:
    result = score(lead(), rules_worth(points, threshold), None, now=NOW)
    assert (result.score, result.qualified, result.threshold) == (points, qualified, threshold)


def test_scores_with_rules_alone_and_says_so() -> None:
    result = score(lead(), rules_worth(42, 50, version="9"), None, now=NOW)
    assert result.model_version == "rules-9"
    assert result.factors == [Factor(name="corporate", points=42, reason="company domain")]
    assert result.scored_at == NOW


def test_ignores_a_model_that_has_not_seen_enough_outcomes() -> None:
    model = trained(199)
    rules = rules_worth(42, 50)
    the_lead = lead(industry="Software")
    assert score(the_lead, rules, model, now=NOW) == score(the_lead, rules, None, now=NOW)


@pytest.mark.parametrize("n_outcomes", [200, 700, 5000])
def test_blends_rules_and_learned_probability_by_the_ramp_weight(n_outcomes: int) -> None:
    model = trained(n_outcomes)
    the_lead = lead(industry="Software")
    w = learned_weight(n_outcomes)
    expected = round((1 - w) * 40 + w * 100 * model.probability(the_lead))
    result = score(the_lead, rules_worth(40, 50, version="2"), model, now=NOW)
    assert result.score == expected
    assert result.model_version == f"rules-2+learned-{n_outcomes}"


def test_lets_outcomes_lift_a_lead_the_rules_undervalue() -> None:
    model = trained(5000)
    rules = rules_worth(40, 50)
    software = score(lead(industry="Software"), rules, model, now=NOW)
    retail = score(lead(industry="Retail"), rules, model, now=NOW)
    assert software.qualified
    assert not retail.qualified
    assert software.score > 40 > retail.score


def test_scales_rule_and_learned_factors_by_their_share_of_the_blend() -> None:
    model = trained(5000)
    result = score(lead(industry="Software"), rules_worth(40, 50), model, now=NOW)
    by_name = {f.name: f.points for f in result.factors}
    assert by_name["corporate"] == 20.0  # 40 points x (1 - 0.5)
    learned = by_name["learned:industry=software"]
    full = model.contributions(lead(industry="Software"))[0].points
    assert learned == pytest.approx(full * 0.5, abs=0.05)
    assert [abs(p) for p in by_name.values()] == sorted(map(abs, by_name.values()), reverse=True)


def test_explains_a_default_score_with_the_rules_that_fired_largest_first() -> None:
    the_lead = lead(
        email="ada@gmail.com", job_title="CEO", company_size=5, first_name="Ada", last_name="L"
    )
    result = score(the_lead, DEFAULT_RULES, None, touches=3, now=NOW)
    names = [f.name for f in result.factors]
    assert names == ["executive", "free-mail", "returning", "returning-often", "size-micro"]
    assert result.score == 25 + 10 + 10 - 10 - 5
    assert result.model_version == "rules-default"
    assert len(result.factors) <= MAX_FACTORS


def test_serialises_a_score_in_the_api_shape() -> None:
    result = score(lead(), rules_worth(42, 50), None, now=NOW)
    assert result.to_doc() == {
        "score": 42,
        "qualified": False,
        "threshold": 50,
        "factors": [{"name": "corporate", "points": 42.0, "reason": "company domain"}],
        "model_version": "rules-3",
    }


def test_keeps_a_score_immutable() -> None:
    result = score(lead(), rules_worth(42, 50), None, now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.score = 99  # type: ignore[misc]
    assert isinstance(result, Score)
