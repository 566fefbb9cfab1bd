"""A scoring simulation's arithmetic (pure): scores as today's scoring gives them, counts,
verdicts, revenue and the Wilson interval, worked out by hand."""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from lead_scoring import simulation_tally
from lead_scoring.domain import score
from lead_scoring.kept import facts_of, kept_facts, vocabulary
from lead_scoring.model import LearnedModel
from lead_scoring.rules import DEFAULT_RULES, LeadFacts, RuleSetInvalid, lead_facts, parse_rules
from lead_scoring.simulation_schemas import ScoringSimulationRequest
from lead_scoring.simulation_tally import Learned, PastLead, Tally, Verdicts, Way, qualifies
from leadflow.events import Attribution, Lead
from leadflow.stats import wilson_interval

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# One rule: a company of 100 or more gets 50 points; every other lead 0.
BIG = parse_rules(
    {"threshold": 50, "rules": [{"name": "big", "group": "fit", "reason": "big",
     "when": {"kind": "company_size", "min": 100}, "points": 50}]},
    version="1",
)  # fmt: skip


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {"lead_id": uuid.uuid4(), "email": "x@acme.example", "captured_at": NOW}
    return Lead.model_validate(base | fields)


def past(size: int | None, verdict: str | None = None, **kw: Any) -> PastLead:
    facts = lead_facts(lead(company_size=size))
    return PastLead(uuid.uuid4(), facts, verdict=verdict, **kw)


def test_the_wilson_interval_of_one_in_three_is_worked_out_by_hand() -> None:
    # p = 1/3, z = 1.96, z² = 3.8415: centre (1/3 + 3.8415/6) / (1 + 3.8415/3) = 0.97358 /
    # 2.28049 = 0.42692; margin 1.96 / 2.28049 x √(2/27 + 3.8415/36) = 0.85946 x 0.42519 =
    # 0.36543: [0.0615, 0.7923].
    low, high = wilson_interval(1, 3) or (0.0, 0.0)
    assert (round(low, 4), round(high, 4)) == (0.0615, 0.7923)
    assert wilson_interval(0, 0) is None


def test_a_way_qualifies_exactly_the_leads_todays_scoring_qualifies() -> None:
    """With a model past its 200 outcomes (weight > 0) and the default rules."""
    rng = random.Random(7)
    titles = ["CTO", "VP Sales", "Marketing Manager", "Student", None]
    leads = [
        lead(
            email=rng.choice(["a@acme.example", "b@gmail.com"]),
            job_title=rng.choice(titles),
            company_size=rng.choice([None, 5, 30, 400, 9000]),
            industry=rng.choice([None, "software", "retail"]),
            country=rng.choice([None, "DE", "US"]),
            attribution=Attribution(source=rng.choice([None, "webinar", "referral"])),
        )
        for _ in range(200)
    ]
    model = LearnedModel()
    for i in range(700):
        model.update(leads[i % len(leads)], won=rng.random() < 0.3)
    learned = Learned.of(model)
    assert learned.weight == pytest.approx(1 / 3)  # 700 outcomes: w = 500 / 1,500
    for x in leads:
        touches = rng.choice([1, 2, 3])
        expected = score(x, DEFAULT_RULES, model, touches=touches, now=NOW).score
        facts = lead_facts(x, touches=touches)
        for threshold in (expected - 1, expected, expected + 1):
            way = Way(DEFAULT_RULES, threshold)
            assert qualifies(facts, way, learned.part(facts)) is (expected >= threshold)


def test_a_tally_works_out_the_learned_weight_once_not_per_lead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real = simulation_tally.learned_weight

    def counted(n_outcomes: int) -> float:
        calls.append(n_outcomes)
        return real(n_outcomes)

    monkeypatch.setattr(simulation_tally, "learned_weight", counted)
    model = LearnedModel()
    for i in range(250):
        model.update(lead(company_size=400), won=i % 2 == 0)
    tally = Tally(Way(BIG, 50), Way(BIG, 40), model)
    for size in (5, 150, 400, 9000):
        tally.add(past(size))
    assert calls == [250]
    assert tally.learned.weight == real(250) > 0
    assert tally.leads == 4


def test_an_erased_lead_keeps_the_facts_it_is_scored_from_and_nothing_personal() -> None:
    x = lead(
        email="ada.lovelace@gmail.com", first_name="Ada", last_name="Lovelace",
        phone="+442079460000", company="Analytical Engines", job_title="Chief Technology Officer",
        company_size=120, industry="Software", country="gb", website="https://ada.example",
        attribution=Attribution(source="Webinar", utm_campaign="demo", utm_term="ada lovelace",
                                referrer="https://ada.example/me"),
        custom={"note": "call Ada"},
    )  # fmt: skip
    doc = kept_facts(x, vocabulary())
    assert doc == {
        "format": "leadflow.scoring.facts.v2", "size_band": [50, 199], "industry": "software",
        "country": "GB", "seniority": "c_level", "email_type": "free", "filled": 9,
        "attribution": {"source": "webinar", "utm_source": None, "utm_medium": None,
                        "utm_campaign": "demo"},
    }  # fmt: skip
    # The band's lowest size stands for 120: the same rules fire, the same model band.
    assert facts_of(doc, touches=3) == replace(lead_facts(x, touches=3), company_size=50)


def test_a_tally_counts_each_way_and_the_leads_that_change() -> None:
    """Threshold 50 now, 0 with the draft: the small leads become MQLs."""
    tally = Tally(Way(BIG, 50), Way(BIG, 0), None, sample=2)
    big = [past(500, "won", amount=Decimal("100"), currency="EUR"), past(200, "lost")]
    small = [past(10, "won", amount=Decimal("7.50"), currency="USD"), past(None, "rejected"),
             past(20), past(30, "won")]  # fmt: skip
    for x in big + small:
        tally.add(x)
    tally.skip()  # an erased lead of which nothing was kept
    doc = tally.report(min_verdicts=2)
    assert (doc["leads"], doc["erased"], doc["unscorable"]) == (7, 1, 1)
    assert (doc["mqls_now"], doc["mqls_draft"]) == (2, 6)
    first_two = [str(small[0].lead_id), str(small[1].lead_id)]  # the sample is 2
    assert doc["became_mql"] == {"count": 4, "lead_ids": first_two}
    assert doc["stopped_being_mql"] == {"count": 0, "lead_ids": []}
    now, draft = doc["outcomes"]["now"], doc["outcomes"]["draft"]
    # Now: 1 won of 2 verdicts: p = 1/2, centre 1/2, margin 1.96/2.9207 x √(1/8 + 3.8415/16)
    # = 0.67107 x 0.60413 = 0.40541: [0.0945, 0.9055].
    assert (now["verdicts"], now["win_rate"], now["wilson_lower"], now["wilson_upper"]) == (
        2, 0.5, 0.0945, 0.9055,
    )  # fmt: skip
    assert now["revenue"] == [{"currency": "EUR", "amount": "100"}]
    # The draft: 3 won (one without an amount), 1 lost, 1 rejected: 3/5.
    assert (draft["won"], draft["lost"], draft["rejected"], draft["win_rate"]) == (3, 1, 1, 0.6)
    assert draft["revenue"] == [
        {"currency": "EUR", "amount": "100"},
        {"currency": "USD", "amount": "7.50"},
    ]
    assert draft["won_without_amount"] == 1


def test_below_the_minimum_verdicts_there_is_no_rate() -> None:
    verdicts = Verdicts()
    verdicts.add(past(500, "won"))
    doc = verdicts.report(min_verdicts=2)
    assert (doc["verdicts"], doc["win_rate"], doc["wilson_lower"]) == (1, None, None)
    assert doc["insufficient_data"] is True
    empty = Verdicts().report(min_verdicts=1)
    assert (empty["verdicts"], empty["win_rate"], empty["insufficient_data"]) == (0, None, True)


def test_a_draft_that_raises_the_bar_names_the_leads_that_stop_being_mqls() -> None:
    tally = Tally(Way(BIG, 50), Way(BIG, 51), None)
    x = past(500)
    assert tally.add(x) == (True, False)
    assert tally.report(1)["stopped_being_mql"] == {"count": 1, "lead_ids": [str(x.lead_id)]}


def test_the_draft_rules_are_validated_as_put_rules_validates_them_under_rules() -> None:
    bad = {"threshold": 60, "rules": [{"name": "a", "group": "fit", "reason": "r",
           "when": {"kind": "company_size", "min": 9, "max": 1}, "points": 5}]}  # fmt: skip
    request = ScoringSimulationRequest.model_validate(
        {"from": "2026-01-01", "to": "2026-02-01", "rules": bad}
    )
    with pytest.raises(RuleSetInvalid) as caught:
        request.draft_rules()
    assert [loc for loc, _ in caught.value.errors] == ["rules.rules[0].when"]
    assert (
        ScoringSimulationRequest.model_validate(
            {"from": "2026-01-01", "to": "2026-02-01"}
        ).draft_rules()
        is None
    )


def test_facts_of_an_unknown_lead_match_nothing() -> None:
    facts = LeadFacts(None, None, None, None, "corporate", 0, {}, 1)
    assert qualifies(facts, Way(BIG, 1), (0.0, 0.0)) is False
