"""What an erased lead keeps (`kept`, pure): a size band that scores as the exact size did
under the rule sets it was cut for, only the values rules name, factors about kept values,
times to the day."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from lead_scoring import kept as kept_module
from lead_scoring.kept import Vocabularies, day, facts_of, kept_factors, kept_facts, vocabulary
from lead_scoring.model import facts_attributes
from lead_scoring.rules import DEFAULT_RULES, apply_rules, lead_facts, parse_rules
from leadflow.events import Attribution, Lead

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# An admin's own rules: sizes cut at 3, 7-12 and 250, one industry and one campaign named.
OWN = parse_rules(
    {"threshold": 20, "rules": [
        {"name": "tiny", "group": "fit", "when": {"kind": "company_size", "max": 2},
         "points": -5, "reason": "x"},
        {"name": "small", "group": "fit", "when": {"kind": "company_size", "min": 7, "max": 12},
         "points": 10, "reason": "x"},
        {"name": "mid", "group": "fit", "when": {"kind": "company_size", "min": 250},
         "points": 20, "reason": "x"},
        {"name": "dentists", "group": "fit", "when": {"kind": "industry", "values": ["Dental"]},
         "points": 15, "reason": "x"},
        {"name": "spring", "group": "engagement", "when": {"kind": "attribution",
         "field": "utm_campaign", "values": ["spring-2026"]}, "points": 5, "reason": "x"},
    ]},
    version="3",
)  # fmt: skip


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {"lead_id": uuid.uuid4(), "email": "x@acme.example", "captured_at": NOW}
    return Lead.model_validate(base | fields)


def test_every_size_scores_in_its_band_as_it_did_exactly() -> None:
    vocab = vocabulary(OWN)
    for size in [None, *range(0, 6000), 10**6]:
        x = lead(company_size=size, industry="dental", job_title="CTO")
        exact = lead_facts(x)
        kept = facts_of(kept_facts(x, vocab), touches=1)
        for rules in (DEFAULT_RULES, OWN):
            assert apply_rules(rules, kept) == apply_rules(rules, exact), (size, rules.version)
        assert facts_attributes(kept) == facts_attributes(exact), size  # the learned part


def test_bands_are_no_finer_than_the_rules_and_the_model_cut_them() -> None:
    assert vocabulary().cuts == (0, 10, 50, 200, 1000, 5000, 5001)
    assert vocabulary().band(7) == [0, 9]
    assert vocabulary().band(400) == [200, 999]
    assert vocabulary().band(9000) == [5001, None]
    assert vocabulary(OWN).band(7) == [7, 9]  # the admin's rules cut at 7
    assert vocabulary().band(None) is None


def test_only_values_a_rule_names_are_kept() -> None:
    x = lead(
        industry="Jane Doe Consulting", country="Germany",
        attribution=Attribution(source="Jane's list", utm_source="google", utm_medium="CPC",
                                utm_campaign="jane-doe-2026"),
    )  # fmt: skip
    doc = kept_facts(x, vocabulary(OWN))
    assert (doc["industry"], doc["country"]) == (None, None)  # not a rule's, not ISO 3166
    assert doc["attribution"] == {
        "source": None,
        "utm_source": None,
        "utm_medium": "cpc",
        "utm_campaign": None,
    }
    named = lead(
        industry="Dental", country="de", attribution=Attribution(utm_campaign="Spring-2026")
    )
    doc = kept_facts(named, vocabulary(OWN))
    assert (doc["industry"], doc["country"]) == ("dental", "DE")
    assert doc["attribution"]["utm_campaign"] == "spring-2026"
    assert kept_facts(named, vocabulary())["industry"] is None  # OWN was not active


def test_learned_factors_about_a_dropped_value_go() -> None:
    x = lead(company_size=400, industry="jane doe consulting", country="DE")
    facts = facts_of(kept_facts(x, vocabulary()), touches=1)
    factors = [
        {"name": "size-sweet-spot", "points": 20, "reason": "50-5,000 employees"},
        {"name": "learned:industry=jane doe consulting", "points": 3.0,
         "reason": "industry jane doe consulting: 2 won, 0 lost (100% win rate)"},
        {"name": "learned:size_band=200-999", "points": 1.5, "reason": "size_band 200-999"},
        {"name": "learned:country=de", "points": -1.0, "reason": "country de"},
    ]  # fmt: skip
    assert [f["name"] for f in kept_factors(factors, facts)] == [
        "size-sweet-spot", "learned:size_band=200-999", "learned:country=de",
    ]  # fmt: skip


def test_a_first_version_document_is_still_read() -> None:
    v1 = {"format": "leadflow.scoring.facts.v1", "company_size": 120, "industry": "software"}
    assert facts_of(v1, touches=2).company_size == 120


def test_times_keep_their_utc_day() -> None:
    late = datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
    assert day(late) == datetime(2026, 12, 2, tzinfo=UTC)


def test_the_vocabulary_is_built_once_per_rule_set_version_not_per_erasure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    real = kept_module.vocabulary

    def counted(*rule_sets: Any) -> Any:
        built.append(",".join(r.version for r in rule_sets))
        return real(*rule_sets)

    monkeypatch.setattr(kept_module, "vocabulary", counted)
    vocabularies = Vocabularies()
    first = [vocabularies.of(0, DEFAULT_RULES) for _ in range(3)]
    own = [vocabularies.of(3, OWN) for _ in range(3)]
    assert built == [DEFAULT_RULES.version, "3"]
    assert all(v is first[0] for v in first)
    assert all(v is own[0] for v in own)
    assert own[0] == real(OWN)
    assert first[0] == real(DEFAULT_RULES)
