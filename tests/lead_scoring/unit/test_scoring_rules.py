"""Rule-set validation, conditions, caps, defaults and the JSON round trip."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from lead_scoring.rules import (
    DEFAULT_RULES,
    RuleSetInvalid,
    apply_rules,
    email_domain_type,
    lead_facts,
    parse_rules,
    rules_to_doc,
)
from leadflow.events import Attribution, Lead


def lead(**fields: Any) -> Lead:
    base: dict[str, Any] = {
        "lead_id": uuid.uuid4(),
        "email": "ada@acme.example",
        "captured_at": datetime(2025, 3, 1, tzinfo=UTC),
    }
    return Lead.model_validate(base | fields)


def rule(name: str, when: dict[str, Any], points: int = 10, group: str = "fit") -> dict[str, Any]:
    return {"name": name, "group": group, "when": when, "points": points, "reason": name}


def one_rule(when: dict[str, Any]) -> Any:
    return parse_rules({"threshold": 50, "rules": [rule("r", when)]})


def fires(when: dict[str, Any], the_lead: Lead, touches: int = 1) -> bool:
    outcome = apply_rules(one_rule(when), lead_facts(the_lead, touches=touches))
    return [f.name for f in outcome.factors] == ["r"]


COMPLETE = {
    "first_name": "Ada", "last_name": "Lovelace", "phone": "+4930123456",
    "company": "Acme", "job_title": "Marketing Manager", "company_size": 250,
    "industry": "Manufacturing", "country": "DE", "website": "https://acme.example",
}  # fmt: skip


@pytest.mark.parametrize(
    ("when", "fields", "expected"),
    [
        ({"kind": "company_size", "min": 50, "max": 5000}, {"company_size": 50}, True),
        ({"kind": "company_size", "min": 50, "max": 5000}, {"company_size": 5000}, True),
        ({"kind": "company_size", "min": 50, "max": 5000}, {"company_size": 49}, False),
        ({"kind": "company_size", "min": 5001}, {"company_size": 10_000}, True),
        ({"kind": "company_size", "max": 9}, {}, False),
        ({"kind": "industry", "values": ["Software"]}, {"industry": " software "}, True),
        ({"kind": "industry", "values": ["software"]}, {"industry": "Retail"}, False),
        ({"kind": "country", "values": ["de", "AT"]}, {"country": "DE"}, True),
        ({"kind": "country", "values": ["DE"]}, {}, False),
        ({"kind": "seniority", "values": ["c_level", "vp"]}, {"job_title": "CEO"}, True),
        ({"kind": "seniority", "values": ["c_level"]}, {"job_title": "Gerente"}, False),
        ({"kind": "email_domain", "type": "free"}, {"email": "ada@gmail.com"}, True),
        ({"kind": "email_domain", "type": "corporate"}, {"email": "ada@gmail.com"}, False),
        ({"kind": "completeness", "min_filled": 9}, COMPLETE, True),
        ({"kind": "completeness", "min_filled": 1}, {}, False),
        ({"kind": "completeness", "min_filled": 1}, {"company": "  "}, False),
        (
            {"kind": "attribution", "field": "utm_medium", "values": ["CPC"]},
            {"attribution": Attribution(utm_medium="cpc")},
            True,
        ),
        (
            {"kind": "attribution", "field": "source", "values": ["referral"]},
            {"attribution": Attribution(utm_source="referral")},
            False,
        ),
    ],
)
def test_fires_a_rule_only_when_its_condition_holds(
    when: dict[str, Any], fields: dict[str, Any], expected: bool
) -> None:
    assert fires(when, lead(**fields)) is expected


@pytest.mark.parametrize(("touches", "expected"), [(1, False), (2, False), (3, True), (7, True)])
def test_counts_repeat_touches(touches: int, expected: bool) -> None:
    assert fires({"kind": "touches", "min": 3}, lead(), touches=touches) is expected


@pytest.mark.parametrize(
    ("email", "kind"),
    [
        ("a@gmail.com", "free"),
        ("a@GMX.DE", "free"),
        ("a@web.de", "free"),
        ("a@yahoo.co.uk", "free"),
        ("a@hotmail.fr", "free"),
        ("a@proton.me", "free"),
        ("a@163.com", "free"),
        ("a@mail.ru", "free"),
        ("a@acme.com", "corporate"),
        ("a@gmail.acme.com", "corporate"),
        ("a@mail.acme.de", "corporate"),
        ("a@live-nation.com", "corporate"),
    ],
)
def test_tells_free_mail_from_corporate_domains(email: str, kind: str) -> None:
    assert email_domain_type(email) == kind


def test_adds_up_fired_rules_within_their_group() -> None:
    rules = parse_rules(
        {
            "threshold": 50,
            "rules": [
                rule("corp", {"kind": "email_domain", "type": "corporate"}, 20),
                rule("mid", {"kind": "company_size", "min": 50}, 15),
                rule("retail", {"kind": "industry", "values": ["retail"]}, -5),
                rule("never", {"kind": "country", "values": ["FR"]}, 40),
            ],
        }
    )
    outcome = apply_rules(rules, lead_facts(lead(company_size=200, industry="Retail")))
    assert outcome.points == 30
    assert [(f.name, f.points) for f in outcome.factors] == [
        ("corp", 20),
        ("mid", 15),
        ("retail", -5),
    ]


def test_caps_each_group_and_explains_the_cap_as_a_factor() -> None:
    rules = parse_rules(
        {
            "threshold": 50,
            "caps": {"fit": 25, "engagement": 10},
            "rules": [
                rule("corp", {"kind": "email_domain", "type": "corporate"}, 20),
                rule("mid", {"kind": "company_size", "min": 50}, 15),
                rule("back", {"kind": "touches", "min": 2}, 30, group="engagement"),
            ],
        }
    )
    outcome = apply_rules(rules, lead_facts(lead(company_size=200), touches=2))
    assert outcome.points == 35
    caps = {f.name: f.points for f in outcome.factors if f.name.startswith("cap:")}
    assert caps == {"cap:fit": -10, "cap:engagement": -20}
    assert sum(f.points for f in outcome.factors) == outcome.points


def test_keeps_the_total_within_zero_and_one_hundred() -> None:
    rules = parse_rules(
        {
            "threshold": 50,
            "caps": {"fit": 100, "engagement": 100},
            "rules": [
                rule("a", {"kind": "email_domain", "type": "corporate"}, 100),
                rule("b", {"kind": "touches", "min": 1}, 50, group="engagement"),
            ],
        }
    )
    high = apply_rules(rules, lead_facts(lead()))
    assert high.points == 100
    assert sum(f.points for f in high.factors) == 100
    low = parse_rules({"threshold": 0, "rules": [rule("a", {"kind": "touches", "min": 1}, -30)]})
    assert apply_rules(low, lead_facts(lead())).points == 0


@pytest.mark.parametrize(
    ("bad_rule", "location", "words"),
    [
        ({"points": 500}, "rules[1].points", "less than or equal to 100"),
        ({"group": "vibes"}, "rules[1].group", "'fit' or 'engagement'"),
        ({"when": {"kind": "company_size", "min": 500, "max": 50}}, "rules[1].when", "above max"),
        ({"when": {"kind": "company_size"}}, "rules[1].when", "min, max or both"),
        ({"when": {"kind": "seniority", "values": ["boss"]}}, "rules[1].when.values[0]", "c_level"),
        ({"when": {"kind": "country", "values": ["DEU"]}}, "rules[1].when.values[0]", "alpha-2"),
        ({"when": {"kind": "horoscope"}}, "rules[1].when", "horoscope"),
        ({"when": {"kind": "industry", "values": []}}, "rules[1].when.values", "at least 1"),
        ({"reason": ""}, "rules[1].reason", "at least 1"),
        ({"colour": "red"}, "rules[1].colour", "Extra inputs"),
    ],
)
def test_names_the_bad_rule_and_field_when_a_rule_set_is_invalid(
    bad_rule: dict[str, Any], location: str, words: str
) -> None:
    good = rule("corporate", {"kind": "email_domain", "type": "corporate"})
    bad = rule("bad one", {"kind": "touches", "min": 2}) | bad_rule
    with pytest.raises(RuleSetInvalid) as raised:
        parse_rules({"threshold": 60, "rules": [good, bad]})
    errors = dict(raised.value.errors)
    assert list(errors) == [location]
    assert words in errors[location]
    assert "rule 'bad one'" in errors[location]


def test_reports_every_error_at_once_including_duplicate_names() -> None:
    doc = {
        "threshold": 101,
        "rules": [
            rule("same", {"kind": "touches", "min": 2}),
            rule("same", {"kind": "touches", "min": 3}, points=-101),
        ],
    }
    with pytest.raises(RuleSetInvalid) as raised:
        parse_rules(doc)
    locations = [loc for loc, _ in raised.value.errors]
    assert sorted(locations) == ["rules[1].name", "rules[1].points", "threshold"]
    assert "duplicate rule name 'same' (see rules[0])" in dict(raised.value.errors)["rules[1].name"]


@pytest.mark.parametrize("doc", [{}, {"threshold": 50}, {"rules": []}, []])
def test_rejects_documents_missing_threshold_or_rules(doc: Any) -> None:
    with pytest.raises(RuleSetInvalid) as raised:
        parse_rules(doc)
    assert raised.value.errors


def test_round_trips_a_rule_set_through_json() -> None:
    doc = rules_to_doc(DEFAULT_RULES)
    again = parse_rules(json.loads(json.dumps(doc)), version="7")
    assert again.version == "7"
    assert again.model_copy(update={"version": DEFAULT_RULES.version}) == DEFAULT_RULES
    assert rules_to_doc(again) == doc
    assert "version" not in doc


def test_ignores_a_version_sent_back_in_the_document() -> None:
    doc = rules_to_doc(DEFAULT_RULES) | {"version": "3"}
    assert parse_rules(doc, version="4").version == "4"


def default_points(fields: dict[str, Any], touches: int = 1) -> int:
    return apply_rules(DEFAULT_RULES, lead_facts(lead(**fields), touches=touches)).points


@pytest.mark.parametrize(
    ("title", "size"),
    [("Marketing Manager", 50), ("Head of IT", 5000), ("CEO", 300), ("Directeur commercial", 80)],
)
def test_qualifies_a_complete_corporate_lead_of_a_mid_sized_company_by_default(
    title: str, size: int
) -> None:
    points = default_points(COMPLETE | {"job_title": title, "company_size": size})
    assert points >= DEFAULT_RULES.threshold == 60


def test_does_not_qualify_a_gmail_lead_without_company_or_title_by_default() -> None:
    fields = {"email": "ada@gmail.com", "first_name": "Ada", "last_name": "Lovelace"}
    assert default_points(fields) < DEFAULT_RULES.threshold
    referred = fields | {"attribution": Attribution(source="referral", utm_campaign="demo")}
    assert default_points(referred, touches=5) < DEFAULT_RULES.threshold


def test_does_not_qualify_an_individual_contributor_at_a_micro_company_by_default() -> None:
    fields = COMPLETE | {"job_title": "Software Engineer", "company_size": 5}
    assert default_points(fields) < DEFAULT_RULES.threshold
