"""POST /v1/scores/preview takes the body intake's POST /v1/leads takes, normalised the same
way (flat utm_*, country names, employee ranges, yes/no consent), and caps every text as
intake does: over-long is a 422 naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lead_scoring.app import MIGRATIONS, build_app
from lead_scoring.settings import ScoringSettings
from support.apps import ADMIN, build, client, dispose


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = await build(
        ScoringSettings, build_app, MIGRATIONS, f"sqlite+aiosqlite:///{tmp_path}/s.db"
    )
    async with client(app) as c:
        yield c
    await dispose(app)


def fields_of(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in answer.json()["errors"]}


LONG = "x" * 300_000


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"job_title": LONG}, "job_title"),
        ({"job_title": "x" * 151}, "job_title"),
        ({"email": "a" * 250 + "@b.example"}, "email"),
        ({"first_name": LONG}, "first_name"),
        ({"last_name": LONG}, "last_name"),
        ({"company": LONG}, "company"),
        ({"industry": LONG}, "industry"),
        ({"phone": LONG}, "phone"),
        ({"website": LONG}, "website"),
        ({"attribution": {"utm_term": LONG}}, "attribution.utm_term"),
        ({"attribution": {"landing_page": LONG}}, "attribution.landing_page"),
        ({"consent": {"text": LONG}}, "consent.text"),
        ({"custom": {"note": LONG}}, "custom"),
        # Named as intake names them: the preview takes intake's body, with intake's rules.
        ({"custom": {"k" * 65: 1}}, ("custom." + "k" * 65)[:64] + "…"),
        ({"custom": {f"f{i}": i for i in range(51)}}, "custom"),
        ({"custom": {"deep": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}, "custom.deep"),
    ],
)
async def test_an_over_long_field_is_a_422_naming_it(
    http: httpx.AsyncClient, extra: dict[str, Any], field: str
) -> None:
    body = {"email": "cto@bigco.example.com", **extra}
    assert fields_of(await http.post("/v1/scores/preview", json=body, headers=ADMIN)) == {field}


async def test_a_lead_within_the_limits_is_scored(http: httpx.AsyncClient) -> None:
    body = {
        "email": "cto@bigco.example.com",
        "job_title": "C" * 150,
        "custom": {f"f{i}": "v" * 70 for i in range(50)},  # intake's 4,096 bytes
        "attribution": {"landing_page": "https://x.example/" + "p" * 2000},
    }
    r = await http.post("/v1/scores/preview", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "when",
    [
        {"kind": "industry", "values": ["saas"] * 301},
        {"kind": "industry", "values": ["s" * 201]},
        {"kind": "attribution", "field": "utm_campaign", "values": ["q4"] * 301},
    ],
)
async def test_a_rule_listing_too_many_or_too_long_values_is_a_422(
    http: httpx.AsyncClient, when: dict[str, Any]
) -> None:
    rule = {"name": "big", "group": "fit", "when": when, "points": 5, "reason": "r"}
    r = await http.put("/v1/scoring/rules", json={"threshold": 50, "rules": [rule]}, headers=ADMIN)
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields in ({"rules[0].when.values"}, {"rules[0].when.values[0]"})


async def test_a_rule_set_with_many_top_level_keys_is_a_422(http: httpx.AsyncClient) -> None:
    doc = {"threshold": 50, "rules": [], **{f"k{i}": 1 for i in range(10_000)}}
    r = await http.put("/v1/scoring/rules", json=doc, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert len(r.content) < 2000  # one error, not one per key


RULES = {
    "threshold": 50,
    "rules": [
        {
            "name": "germany",
            "group": "fit",
            "when": {"kind": "country", "values": ["DE"]},
            "points": 30,
            "reason": "DACH",
        },
        {
            "name": "linkedin",
            "group": "engagement",
            "when": {"kind": "attribution", "field": "utm_source", "values": ["linkedin"]},
            "points": 20,
            "reason": "came from LinkedIn",
        },
    ],
}


async def preview(http: httpx.AsyncClient, body: dict[str, Any], **params: Any) -> httpx.Response:
    return await http.post("/v1/scores/preview", json=body, params=params, headers=ADMIN)


async def test_an_intake_body_is_scored_as_intake_normalises_it(http: httpx.AsyncClient) -> None:
    r = await http.put("/v1/scoring/rules", json=RULES, headers=ADMIN)
    assert r.status_code == 200, r.text
    intake_body = {
        "email": "  CTO@BigCo.Example.com ",
        "country": "Germany",
        "company_size": "50-200",
        "utm_source": "linkedin",
        "consent": {"marketing": "yes"},
        "favourite_colour": "green",  # an unknown field: kept in custom, as intake does
    }
    normalised = {
        "email": "cto@bigco.example.com",
        "country": "DE",
        "company_size": 50,
        "attribution": {"utm_source": "linkedin"},
        "consent": {"marketing": True},
    }
    flat, nested = await preview(http, intake_body), await preview(http, normalised)
    assert flat.status_code == 200, flat.text
    assert nested.status_code == 200, nested.text
    assert flat.json() == nested.json()
    assert {f["name"] for f in flat.json()["factors"]} >= {"germany", "linkedin"}


async def test_a_field_intake_refuses_is_a_422_naming_it(http: httpx.AsyncClient) -> None:
    r = await preview(http, {"email": "cto@bigco.example.com", "country": "Atlantis"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in r.json()["errors"]} == {"country"}


async def test_touches_is_a_query_parameter(http: httpx.AsyncClient) -> None:
    body = {"email": "cto@bigco.example.com"}
    assert (await preview(http, body, touches=3)).status_code == 200
    assert (await preview(http, body, touches=0)).status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('{"email":"cto@bigco.example.com","zz":"\\ud800"}', "zz"),
        ('{"email":"cto@bigco.example.com","custom":{"k":"\\udfff"}}', "custom.k"),
    ],
)
async def test_a_lone_surrogate_in_preview_is_a_422_naming_its_field(
    http: httpx.AsyncClient, body: str, field: str
) -> None:
    r = await http.post(
        "/v1/scores/preview", content=body, headers={**ADMIN, "Content-Type": "application/json"}
    )
    assert fields_of(r) == {field}
