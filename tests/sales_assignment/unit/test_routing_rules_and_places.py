"""validate_rules for the future API, regions, segments and company domains."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from sales_assignment.places import (
    COUNTRIES,
    REGIONS,
    company_domain,
    expand_places,
    segment_of,
    website_domain,
)
from sales_assignment.rules import RoutingRule, RulesInvalid, validate_rules

REP = "00000000-0000-0000-0000-000000000001"


def test_valid_rules_become_routing_rules_in_order() -> None:
    rules = validate_rules(
        [
            {
                "name": " emea-enterprise ",
                "countries": ["emea", "us"],
                "min_employees": 1000,
                "pool": [REP],
            },
            {"name": "hot", "min_score": 80, "max_score": 100, "industries": ["SaaS"]},
        ]
    )
    assert [r.name for r in rules] == ["emea-enterprise", "hot"]
    assert rules[0].pool == [UUID(REP)]
    assert rules[0].countries == ["EMEA", "US"]
    assert "US" in rules[0].country_set
    assert "FR" in rules[0].country_set
    assert rules[1].pool == "territory"


@pytest.mark.parametrize(
    ("doc", "loc", "msg"),
    [
        ("not a list", "rules", "valid list"),
        ([{"pool": "territory"}], "rules[0].name", "Field required"),
        ([{"name": ""}], "rules[0].name", "at least 1 character"),
        ([{"name": "a", "countries": ["DE", "UK"]}], "rules[0].countries[1]", "did you mean GB"),
        ([{"name": "a"}, {"name": "b", "pool": ["bob"]}], "rules[1].pool", "not a rep id"),
        ([{"name": "a", "pool": []}], "rules[0].pool", "non-empty list of rep ids"),
        ([{"name": "a", "pool": "everyone"}], "rules[0].pool", "'territory' or"),
        ([{"name": "a", "min_score": 101}], "rules[0].min_score", "less than or equal to 100"),
        ([{"name": "a", "min_employees": -1}], "rules[0].min_employees", "greater than or equal"),
        (
            [{"name": "a", "min_employees": 500, "max_employees": 100}],
            "rules[0]",
            "min_employees 500 > max_employees 100",
        ),
        ([{"name": "default"}], "rules[0]", "reserved"),
        ([{"name": "a", "colour": "red"}], "rules[0].colour", "Extra inputs"),
        ([{"name": "a"}, {"name": "a"}], "rules[1].name", "duplicate name 'a' (also rules[0])"),
    ],
)
def test_invalid_rules_name_the_rule_index_and_field(doc: Any, loc: str, msg: str) -> None:
    with pytest.raises(RulesInvalid) as caught:
        validate_rules(doc)
    assert any(e["loc"] == loc and msg in e["msg"] for e in caught.value.errors), (
        caught.value.errors
    )
    assert isinstance(caught.value, ValueError)


def test_rules_built_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="min_score 90 > max_score 10"):
        RoutingRule(name="x", min_score=90, max_score=10)
    with pytest.raises(ValueError, match="unknown country or region 'Mars'"):
        RoutingRule(name="x", countries=["Mars"])


def test_regions_partition_every_iso_country_exactly_once() -> None:
    assert len(COUNTRIES) == 249
    assert sum(len(codes) for codes in REGIONS.values()) == 249
    assert {"DE", "ZA", "AE"} <= REGIONS["EMEA"]
    assert {"US", "CA"} <= REGIONS["NA"]
    assert {"MX", "BR"} <= REGIONS["LATAM"]
    assert {"JP", "AU", "IN"} <= REGIONS["APAC"]
    assert expand_places(["DE", "at", "CH"]) == {"DE", "AT", "CH"}


@pytest.mark.parametrize(
    ("size", "segment"),
    [
        (None, None),
        (0, "smb"),
        (99, "smb"),
        (100, "mid_market"),
        (999, "mid_market"),
        (1000, "enterprise"),
        (250_000, "enterprise"),
    ],
)
def test_segments_are_smb_below_100_mid_market_to_999_enterprise_from_1000(
    size: int | None, segment: str | None
) -> None:
    assert segment_of(size) == segment


@pytest.mark.parametrize(
    ("url", "domain"),
    [
        ("https://www.Acme.com/pricing", "acme.com"),
        ("acme.co.uk/about", "acme.co.uk"),
        ("http://user@shop.acme.io:8080", "shop.acme.io"),
        ("acme.com.", "acme.com"),
        ("", None),
        (None, None),
        ("http://[::1", None),
    ],
)
def test_website_domain_is_the_bare_host(url: str | None, domain: str | None) -> None:
    assert website_domain(url) == domain


@pytest.mark.parametrize(
    ("email_domain", "website", "expected"),
    [
        ("acme.com", "other.com", "acme.com"),
        ("gmail.com", "acme.com", "acme.com"),
        ("hotmail.fr", None, None),
        ("yahoo.co.jp", "acme.jp", "acme.jp"),
        ("gmx.at", None, None),
        ("foxmail.com", None, None),
        ("protonmail.ch", "acme.ch", "acme.ch"),
        ("outlook.acme-corp.com", None, "outlook.acme-corp.com"),
        ("localhost", None, None),
        (None, None, None),
    ],
)
def test_company_domain_skips_free_mail(
    email_domain: str | None, website: str | None, expected: str | None
) -> None:
    assert company_domain(email_domain, website) == expected
