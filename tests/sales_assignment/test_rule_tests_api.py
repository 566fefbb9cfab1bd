"""`POST /v1/routing/rules/test`: golden cases against the live team, read-only; both DBs.

Team, made through the API: Ann (weight 2) and Bob (weight 1), Cid (territory US, owner of
acme.com), Dee (max_open_leads 0: always at capacity), Bob out of office in January 2030.
Active rules: dach-enterprise (DE/AT/CH, ≥ 1000 employees → Ann, Bob), us (territory),
fr (→ Dee, so queued), retail (→ Bob). A fresh round robin over Ann 2 : Bob 1 starts with Ann,
whatever the live state says (the live state after one routed lead says Bob is next).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from assignment_kit import api_account, api_rep, api_rules, handle, qualified
from fastapi import FastAPI
from sqlalchemy import MetaData, select

from support.apps import ADMIN, bearer, runtime

pytestmark = pytest.mark.postgres
URL = "/v1/routing/rules/test"
DACH = {"country": "DE", "company_size": 5000, "industry": "SaaS", "score": 90}


async def team(http: httpx.AsyncClient) -> dict[str, str]:
    away = [{"start": "2030-01-01T00:00:00Z", "end": "2030-01-10T00:00:00Z"}]
    ids = {
        "Ann": await api_rep(http, "Ann", weight=2),
        "Bob": await api_rep(http, "Bob", out_of_office=away),
        "Cid": await api_rep(http, "Cid", territories=["US"]),
        "Dee": await api_rep(http, "Dee", max_open_leads=0),
    }
    rules = [
        {"name": "dach-enterprise", "countries": ["DE", "AT", "CH"], "min_employees": 1000,
         "pool": [ids["Ann"], ids["Bob"]]},
        {"name": "us", "countries": ["US"], "pool": "territory"},
        {"name": "fr", "countries": ["FR"], "pool": [ids["Dee"]]},
        {"name": "retail", "industries": ["Retail"], "pool": [ids["Bob"]]},
    ]  # fmt: skip
    await api_rules(http, rules)
    await api_account(http, "acme.com", ids["Cid"])
    return ids


async def snapshot(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: what 'nothing changed' is checked against."""
    async with runtime(app).engine.connect() as conn:
        meta = MetaData()
        await conn.run_sync(meta.reflect)
        tables = {}
        for name, table in meta.tables.items():
            rows = (await conn.execute(select(table))).all()
            tables[name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return tables


def case(name: str, lead: dict[str, Any], **expect: Any) -> dict[str, Any]:
    return {"name": name, "lead": lead, "expect": expect}


async def test_cases_pass_and_miss_against_the_live_team_and_change_nothing(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ids = await team(http)
    await handle(app.state.assigner, qualified(country="DE", company_size=5000))  # Ann's
    analyst = await bearer(http, "analyst")
    before = await snapshot(app)
    cases = [
        case("dach to Ann", DACH, rule="dach-enterprise", rep="Ann"),
        case("dach again to Ann", DACH, rep=ids["Ann"], pool=["Ann", "Bob"]),
        case("us by territory", {"country": "US"}, rule="us", rep="Cid"),
        case("acme's owner", {"email_domain": "ACME.com", "country": "DE"},
             rule="account_owner", rep="Cid"),
        case("owner by website", {"website_domain": "www.acme.com"}, rep="Cid"),
        case("fr waits", {"country": "FR"}, rule="fr", queued=True),
        case("nobody else", {"country": "JP"}, rule="default", queued=False),
        case("retail to Bob now", {"industry": "retail"}, rule="retail", rep="Bob"),
        {**case("retail in Bob's leave", {"industry": "Retail"}, queued=True),
         "at": "2030-01-05T12:00:00"},
        case("a miss", DACH, rule="us", rep="Bob", pool=["Cid"]),
        case("nobody named Zed", DACH, rep="Zed"),
        case("fr expected a rep", {"country": "FR"}, pool=["Dee"]),
    ]  # fmt: skip
    r = await http.post(URL, json={"cases": cases}, headers=analyst)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["draft"], doc["rules_version"], doc["passed"], doc["failed"]) == (False, 1, 9, 3)
    got = {c["name"]: c for c in doc["cases"]}
    assert [c["name"] for c in doc["cases"]] == [c["name"] for c in cases]
    assert [name for name, c in got.items() if not c["passed"]] == [
        "a miss",
        "nobody named Zed",
        "fr expected a rep",
    ]
    assert (got["dach to Ann"]["rep_id"], got["dach to Ann"]["rep_name"]) == (ids["Ann"], "Ann")
    assert got["dach to Ann"]["differences"] == []
    assert "weighted round robin chose Ann" in got["dach to Ann"]["reason"]["detail"]
    assert (got["fr waits"]["queued"], got["fr waits"]["rep_id"]) == (True, None)
    assert got["retail in Bob's leave"]["at"].startswith("2030-01-05T12:00:00")
    ann = f"Ann ({ids['Ann']})"
    assert got["a miss"]["differences"] == [
        "rule: expected 'us', got 'dach-enterprise'",
        f"rep: expected Bob ({ids['Bob']}), got {ann}",
        f"pool: expected one of Cid, got {ann}",
    ]
    assert got["nobody named Zed"]["differences"] == ["rep: no rep named 'Zed' on the team"]
    assert got["fr expected a rep"]["differences"] == [
        "queued: expected a rep, the lead was queued"
    ]
    assert await snapshot(app) == before  # no row, count, round-robin state or event


async def test_a_draft_is_validated_as_put_is_and_tested_without_being_stored(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ids = await team(http)
    retired = await api_rep(http, "Eve")
    assert (await http.delete(f"/v1/reps/{retired}", headers=ADMIN)).status_code == 204
    before = await snapshot(app)
    draft = [{"name": "dach-to-bob", "countries": ["DACH", "DE"], "pool": [ids["Bob"]]}]
    cases = [case("dach to Bob", DACH, rule="dach-to-bob", rep="Bob")]
    r = await http.post(URL, json={"rules": draft, "cases": []}, headers=ADMIN)
    assert r.json()["errors"] == [
        {"field": "cases", "message": "List should have at least 1 item after validation, not 0"}
    ]
    r = await http.post(URL, json={"rules": draft, "cases": cases}, headers=ADMIN)
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "rules[0].countries[0]"
    assert error["message"].startswith("rule 'dach-to-bob': unknown country or region 'DACH'")

    draft = [{"name": "dach-to-bob", "countries": ["DE"], "pool": [ids["Bob"]]}]
    r = await http.post(URL, json={"rules": draft, "cases": cases}, headers=ADMIN)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert (doc["draft"], doc["rules_version"], doc["passed"], doc["failed"]) == (True, None, 1, 0)
    r = await http.post(URL, json={"cases": cases}, headers=ADMIN)  # the active rules: a miss
    assert (r.json()["failed"], r.json()["cases"][0]["rule"]) == (1, "dach-enterprise")

    draft = [{"name": "vip", "pool": [ids["Ann"]], "fallback": {"rep": retired}}]
    r = await http.post(URL, json={"rules": draft, "cases": cases}, headers=ADMIN)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "rules[0].fallback.rep", "message": f"rule 'vip': no rep {retired}"}
    ]
    assert await snapshot(app) == before
    assert (await http.get("/v1/routing/rules", headers=ADMIN)).json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"cases": [case("x", {"counrty": "DE"}, rule="us")]}, "cases.0.lead.counrty",
         "Extra inputs are not permitted"),
        ({"cases": [case("x", {"country": "Germany"}, rule="us")]}, "cases.0.lead.country",
         "String should have at most 2 characters"),
        ({"cases": [case("x", {"country": "XX"}, rule="us")]}, "cases.0.lead.country",
         "Value error, unknown country 'XX': use an ISO 3166-1 alpha-2 code"),
        ({"cases": [case("x", {"score": 101}, rule="us")]}, "cases.0.lead.score",
         "Input should be less than or equal to 100"),
        ({"cases": [case("x", {})]}, "cases.0.expect",
         "Value error, expect at least one of rule, rep, pool, queued"),
        ({"cases": [case("x", {}, rep="Ann", queued=True)]}, "cases.0.expect",
         "Value error, queued: true expects no rep: drop rep and pool"),
        ({"cases": [{**case("x", {}, queued=True), "at": "0001-01-01T00:00:00"}]}, "cases.0.at",
         "Value error, must be within years 1970–9998"),
        ({"cases": [case("x", {}, rule="a"), case("x", {}, rule="b")]}, "cases.1.name",
         "duplicate case name 'x' (also cases.0)"),
        ({"cases": [case(f"c{i}", {}, rule="a") for i in range(1001)]}, "cases",
         "List should have at most 1000 items after validation, not 1001"),
    ],
)  # fmt: skip
async def test_bad_cases_are_422_naming_the_case_and_field(
    http: httpx.AsyncClient, body: dict[str, Any], field: str, message: str
) -> None:
    r = await http.post(URL, json=body, headers=ADMIN)
    assert r.status_code == 422, r.text
    assert {"field": field, "message": message} in r.json()["errors"]


async def test_a_body_over_the_limit_is_413_and_a_rep_token_is_403(
    http: httpx.AsyncClient,
) -> None:
    big = {"cases": [case("x" * 200 + str(i), {"company": "y" * 200}, rule="a")
                     for i in range(3000)]}  # fmt: skip
    r = await http.post(URL, json=big, headers=ADMIN)
    assert r.status_code == 413
    rep = await bearer(http, "rep", "5f0c6a7e-2b1d-4c3e-9a8f-0123456789ab")
    r = await http.post(URL, json={"cases": [case("x", {}, rule="a")]}, headers=rep)
    assert r.status_code == 403
