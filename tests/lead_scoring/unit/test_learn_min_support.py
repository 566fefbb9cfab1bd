"""The learned model's minimum support, as pure functions: a typed value is kept as its own
weight only once enough leads with a verdict share it (`lead_scoring.support`)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from lead_scoring.model import LearnedModel
from lead_scoring.support import Tally, cut, knows, learn, prune, restored, unlearned
from leadflow.events import Attribution, Lead


def lead(industry: str | None = "Jane Doe Consulting", **fields: Any) -> Lead:
    base: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "email": "cto@bigco.example.com",
        "job_title": "CTO",
        "company_size": 400,
        "industry": industry,
        "country": "DE",
        "attribution": Attribution(source="webinar", utm_campaign="jane-doe-spring"),
        "captured_at": datetime(2026, 3, 1, tzinfo=UTC),
    }
    return Lead.model_validate(base | fields)


def saved(model: LearnedModel) -> tuple[dict[str, Any], dict[str, int], int | None]:
    """What `repo.save_model` stores: the doc, and the support beside it, through JSON."""
    doc, leads = json.loads(json.dumps(model.to_doc())), json.loads(json.dumps(model.leads))
    return doc, leads, model.min_support


def stored(model: LearnedModel) -> str:
    return json.dumps(saved(model))


def test_a_value_rarer_than_the_minimum_is_not_stored_but_the_verdict_still_teaches() -> None:
    model = LearnedModel()
    learn(model, lead(), "won", {}, min_support=5)
    doc = stored(model)
    assert "jane doe consulting" not in doc
    assert "jane-doe-spring" not in doc
    assert "country=de" not in doc  # typed values too
    assert "source=webinar" not in doc
    # What the lead shares with every CTO of a big company is learned at once.
    assert model.won["size_band=200-999"] == model.won["seniority=c_level"] == 1
    assert model.n_outcomes == model.n_won == 1
    assert model.mean["bias"] > 0
    shown = [(r["attribute"], r["value"]) for r in model.stats()]
    assert shown == [("size_band", "200-999"), ("seniority", "c_level"),
                     ("email_type", "corporate"), ("utm_medium", "unknown")]  # fmt: skip


@pytest.mark.parametrize(
    ("others", "learned"),
    [
        (Tally(won=1, lost=2), False),  # 3 others + this lead: 4 of 5
        (Tally(won=1, lost=2, rejected=1), True),  # this lead makes it 5
        (Tally(lost=9), True),
    ],
)
def test_a_value_is_learned_from_the_lead_that_brings_it_to_the_minimum(
    others: Tally, learned: bool
) -> None:
    model = LearnedModel()
    done = learn(model, lead(), "lost", {"industry=jane doe consulting": others}, min_support=5)
    assert ("industry=jane doe consulting" in done.common) is learned
    assert ("industry=jane doe consulting" in done.rare) is not learned
    assert knows(model, "industry=jane doe consulting") is learned
    if learned:  # its counts are all its leads' verdicts, this one included
        expected = others._replace(lost=others.lost + 1)
        feature = "industry=jane doe consulting"
        assert (model.won.get(feature, 0), model.lost[feature]) == expected[:2]
        assert model.rejected.get(feature, 0) == expected.rejected
        assert model.mean[feature] < 0


def test_a_learned_value_learns_on_without_asking_for_its_support() -> None:
    model = LearnedModel()
    learn(model, lead(), "won", {"industry=jane doe consulting": Tally(won=4)}, min_support=5)
    assert "industry=jane doe consulting" not in unlearned(model, lead(), 5)
    learn(model, lead(), "rejected", {}, min_support=5)
    feature = "industry=jane doe consulting"
    assert (model.won[feature], model.rejected[feature]) == (5, 1)


def test_unlearned_lists_the_typed_values_only_and_none_at_a_minimum_of_one() -> None:
    model = LearnedModel()
    assert unlearned(model, lead(industry=None), 5) == [
        "country=de", "source=webinar", "utm_campaign=jane-doe-spring",
    ]  # fmt: skip
    assert unlearned(model, lead(), 1) == []


def test_at_a_minimum_of_one_every_value_is_learned_as_before() -> None:
    alone, before = LearnedModel(), LearnedModel()
    learn(alone, lead(), "won", {}, min_support=1)
    before.update(lead(), won=True)
    assert alone.leads == dict.fromkeys(unlearned(LearnedModel(), lead(), 5), 1)  # one lead each
    assert replace(alone, leads={}) == before


def test_a_stored_model_loses_its_rare_typed_values_when_restored() -> None:
    model = LearnedModel()
    for _ in range(5):  # learned at a minimum of 1: each value counts its leads
        learn(model, lead("software", attribution=Attribution(source="webinar")), "won", {}, 1)
    learn(model, lead(), "lost", {}, min_support=1)  # one lead typed it
    assert "jane doe consulting" in stored(model)
    again = restored(LearnedModel.from_doc(*saved(model)), min_support=5)
    assert "jane doe consulting" not in stored(again)
    assert "jane-doe-spring" not in stored(again)
    assert knows(again, "industry=software")
    assert knows(again, "country=de")
    assert again.n_outcomes == 6
    assert prune(again, 5) is False  # nothing left to drop
    assert prune(again, 7) is True  # a raised minimum drops more
    assert not knows(again, "country=de")
    assert knows(again, "size_band=200-999")  # a closed vocabulary stays


def test_a_model_saved_before_it_counted_leads_keeps_no_typed_value_until_cut() -> None:
    model = LearnedModel()
    for _ in range(6):
        model.update(lead(), won=True)  # six verdicts, but of how many leads?
    again = restored(LearnedModel.from_doc(*saved(model)), min_support=5)
    assert not knows(again, "industry=jane doe consulting")
    counted = {"industry=jane doe consulting": Tally(won=1), "country=de": Tally(won=5)}
    learned = cut(model, counted, min_support=5)  # the value_support rows say: 1 and 5 leads
    assert learned == {"country=de"}
    assert not knows(model, "industry=jane doe consulting")
    assert (model.leads["country=de"], model.won["country=de"]) == (5, 6)
    assert model.min_support == 5


def test_a_learned_value_counts_its_distinct_leads_not_its_verdicts() -> None:
    model = LearnedModel()
    feature = "industry=jane doe consulting"
    learn(model, lead(), "lost", {feature: Tally(won=4)}, min_support=5)  # learned: 5 leads
    learn(model, lead(), "lost", {}, min_support=5, first=False)  # a recycled lead again
    assert (model.leads[feature], model.won[feature] + model.lost[feature]) == (5, 6)
    learn(model, lead(), "won", {}, min_support=5)  # a lead new to it
    assert model.leads[feature] == 6
    assert prune(model, 6) is False
    assert prune(model, 7) is True  # 7 verdicts, 6 leads
    assert not knows(model, feature)
