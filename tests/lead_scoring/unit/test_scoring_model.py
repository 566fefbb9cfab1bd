"""The learned model and the Odoo baseline learn from won/lost outcomes."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lead_scoring.baseline import OdooBaseline
from lead_scoring.model import ATTRIBUTES, LearnedModel, attributes, size_band
from leadflow.events import Attribution, Lead


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "email": "ada@acme.example",
        "captured_at": datetime(2025, 3, 1, tzinfo=UTC),
    }
    return Lead.model_validate(base | fields)


SOFTWARE = lead(industry="Software", company_size=300, job_title="VP Sales")
RETAIL = lead(industry="Retail", company_size=300, job_title="VP Sales")


def train(model: LearnedModel | OdooBaseline, n: int, seed: int = 1) -> None:
    """Software leads are won 60% of the time, retail leads 10%."""
    rng = random.Random(seed)
    for _ in range(n):
        is_software = rng.random() < 0.5
        model.update(
            SOFTWARE if is_software else RETAIL, rng.random() < (0.6 if is_software else 0.1)
        )


@pytest.mark.parametrize(
    ("employees", "band"),
    [(None, "unknown"), (1, "1-9"), (9, "1-9"), (10, "10-49"), (250, "200-999"), (9999, "5000+")],
)
def test_puts_company_sizes_in_bands(employees: int | None, band: str) -> None:
    assert size_band(employees) == band


def test_derives_every_attribute_and_marks_missing_ones_unknown() -> None:
    values = attributes(
        lead(
            email="ada@gmail.com",
            job_title="Geschäftsführerin",
            country="de",
            attribution=Attribution(source="Referral", utm_campaign="X" * 200),
        )
    )
    assert tuple(values) == ATTRIBUTES
    assert values["seniority"] == "c_level"
    assert values["email_type"] == "free"
    assert values["country"] == "de"
    assert values["source"] == "referral"
    assert values["industry"] == values["utm_medium"] == values["size_band"] == "unknown"
    assert len(values["utm_campaign"]) == 80


def test_predicts_near_even_odds_before_any_outcome() -> None:
    assert LearnedModel().probability(SOFTWARE) == pytest.approx(0.5)
    assert OdooBaseline().probability(SOFTWARE) == 0.5


@pytest.mark.parametrize("model_type", [LearnedModel, OdooBaseline])
def test_learns_that_software_leads_win_more_often_than_retail_leads(
    model_type: type[LearnedModel] | type[OdooBaseline],
) -> None:
    model = model_type()
    train(model, 2000)
    assert model.n_outcomes == 2000
    assert model.probability(SOFTWARE) == pytest.approx(0.6, abs=0.08)
    assert model.probability(RETAIL) == pytest.approx(0.1, abs=0.08)


def test_changes_its_version_as_it_learns() -> None:
    model = LearnedModel()
    assert model.version == "learned-0"
    train(model, 3)
    assert model.version == "learned-3"


def test_stays_cautious_after_few_outcomes() -> None:
    model = LearnedModel()
    for _ in range(3):
        model.update(SOFTWARE, won=True)
    # Three wins are weak evidence: the prediction moves, but not to certainty.
    assert 0.6 < model.probability(SOFTWARE) < 0.95


def test_explains_a_probability_with_the_attributes_that_moved_it() -> None:
    model = LearnedModel()
    train(model, 2000)
    contributions = model.contributions(SOFTWARE)
    top = contributions[0]
    assert top.name == "learned:industry=software"
    assert top.points > 10
    assert "won" in top.reason
    assert "lost" in top.reason
    assert contributions == sorted(contributions, key=lambda c: -abs(c.points))
    assert model.contributions(RETAIL)[0].points < -10
    assert LearnedModel().contributions(SOFTWARE) == []


def test_reports_won_lost_and_win_rate_per_attribute_value() -> None:
    model = LearnedModel()
    model.update(SOFTWARE, won=True)
    model.update(SOFTWARE, won=False)
    model.update(RETAIL, won=False)
    rows = {(r["attribute"], r["value"]): r for r in model.stats()}
    assert rows["industry", "software"] | {"weight": 0} == {
        "attribute": "industry", "value": "software", "won": 1, "lost": 1, "rejected": 0,
        "win_rate": 0.5, "weight": 0,
    }  # fmt: skip
    assert rows["industry", "retail"]["win_rate"] == 0.0
    assert rows["seniority", "vp"]["won"] + rows["seniority", "vp"]["lost"] == 3
    assert model.stats()[0]["attribute"] == "size_band"


def test_round_trips_through_json_without_changing_a_prediction() -> None:
    model = LearnedModel()
    train(model, 300)
    doc = json.loads(json.dumps(model.to_doc()))
    again = LearnedModel.from_doc(doc)
    assert again == model
    assert again.probability(SOFTWARE) == model.probability(SOFTWARE)
    assert again.version == "learned-300"


def test_rejects_a_malformed_model_document() -> None:
    doc = LearnedModel().to_doc() | {"n_outcomes": -1}
    with pytest.raises(ValueError, match="n_outcomes"):
        LearnedModel.from_doc(doc)


def test_reads_a_model_document_with_keys_it_does_not_know() -> None:
    """A later release's additive key does not fail this one's scoring (rolling upgrade)."""
    model = LearnedModel()
    train(model, 20)
    doc = model.to_doc() | {"calibration": {"a": 1.0}}
    for feature in doc["features"].values():
        feature["last_seen"] = "2027-01-01"
    assert LearnedModel.from_doc(doc) == model


def test_odoo_baseline_starts_every_frequency_at_a_tenth() -> None:
    odoo = OdooBaseline()
    odoo.update(SOFTWARE, won=True)
    odoo.update(RETAIL, won=False)
    assert odoo.counts["industry"] == {"software": [1.1, 0.1], "retail": [0.1, 1.1]}
    # P(won) = P(lost) = 1/2; every attribute value but the industry is shared by both leads
    # (1.1 won, 1.1 lost: a factor of 1 on each side); industry: (1.1 / 1.2) vs (0.1 / 1.2).
    expected = (0.5 * 1.1 / 1.2) / (0.5 * 1.1 / 1.2 + 0.5 * 0.1 / 1.2)
    assert odoo.probability(SOFTWARE) == pytest.approx(expected)
    assert OdooBaseline().n_outcomes == 0


def test_a_rejection_teaches_as_much_as_two_lost_deals() -> None:
    rejected, lost_twice = LearnedModel(), LearnedModel()
    rejected.reject(SOFTWARE)
    lost_twice.update(SOFTWARE, won=False)
    lost_twice.update(SOFTWARE, won=False)
    assert rejected.mean == lost_twice.mean
    assert rejected.variance == lost_twice.variance
    assert (rejected.n_outcomes, rejected.n_rejected, rejected.n_won) == (1, 1, 0)
    row = next(r for r in rejected.stats() if r["attribute"] == "industry")
    assert (row["won"], row["lost"], row["rejected"], row["win_rate"]) == (0, 0, 1, 0.0)
    again = LearnedModel.from_doc(json.loads(json.dumps(rejected.to_doc())))
    assert again == rejected


def test_reads_a_model_saved_before_rejections_were_learned() -> None:
    model = LearnedModel()
    model.update(SOFTWARE, won=True)
    doc = model.to_doc()
    del doc["n_rejected"]
    for feature in doc["features"].values():
        del feature["rejected"]
    assert LearnedModel.from_doc(doc) == model
