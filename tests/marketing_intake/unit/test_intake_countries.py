"""Country names and codes resolve to ISO 3166-1 alpha-2."""

from __future__ import annotations

import pytest

from leadflow.leadbody.countries import COUNTRY_CODES, country_code, country_name


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Deutschland", "DE"),
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("de", "DE"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("u.s.a.", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("España", "ES"),
        ("Brasil", "BR"),
        ("Schweiz", "CH"),
        ("Suisse", "CH"),
        ("Svizzera", "CH"),
        ("Österreich", "AT"),
        ("Oesterreich", "AT"),
        ("Nederland", "NL"),
        ("The Netherlands", "NL"),
        ("Holland", "NL"),
        ("Italia", "IT"),
        ("Polska", "PL"),
        ("日本", "JP"),
        ("中国", "CN"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Viet Nam", "VN"),
        ("Vietnam", "VN"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("UAE", "AE"),
        ("Kosovo", "XK"),
    ],
)
def test_resolves_names_codes_and_native_spellings(given: str, expected: str) -> None:
    assert country_code(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  GERMANY  ", "DE"),
        ("oSTERREICH", "AT"),
        ("espana", "ES"),
        ("Cote d'Ivoire", "CI"),
        ("côte d’ivoire", "CI"),
        ("Bosnia & Herzegovina", "BA"),
        ("Bosnia and Herzegovina", "BA"),
        ("St. Lucia", "LC"),
        ("Saint Lucia", "LC"),
        ("Gambia, The", "GM"),
        ("united-kingdom", "GB"),
        ("GROSSBRITANNIEN", "GB"),
        ("new\tzealand", "NZ"),
    ],
)
def test_ignores_case_accents_whitespace_and_punctuation(given: str, expected: str) -> None:
    assert country_code(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "Atlantis", "XX", "ZZZ", "Saint", "the", "&"])
def test_returns_none_for_anything_unknown(given: str) -> None:
    assert country_code(given) is None


def test_does_not_read_a_lone_st_as_saint() -> None:
    assert country_code("ST") == "ST"  # São Tomé and Príncipe


def test_knows_every_iso_country_by_alpha2_alpha3_and_english_name() -> None:
    assert len(COUNTRY_CODES) == 250  # 249 ISO 3166-1 entries plus the user-assigned XK
    for code in COUNTRY_CODES:
        name = country_name(code)
        assert name is not None
        assert country_code(code) == code
        assert country_code(code.lower()) == code
        assert country_code(name) == code


@pytest.mark.parametrize(
    ("alpha3", "expected"), [("AUT", "AT"), ("CHE", "CH"), ("GBR", "GB"), ("JPN", "JP")]
)
def test_maps_alpha3_codes_to_alpha2(alpha3: str, expected: str) -> None:
    assert country_code(alpha3) == expected


def test_names_a_country_by_its_code() -> None:
    assert country_name("de") == "Germany"
    assert country_name("QQ") is None
