"""A rule's fallback (a rep or a pool) through the rules API and routing; both DBs."""

from __future__ import annotations

import uuid

import httpx
import pytest
from assignment_kit import api_rep, qualified, routed
from fastapi import FastAPI

from support.apps import ADMIN

pytestmark = pytest.mark.postgres


async def rules(http: httpx.AsyncClient, *docs: dict[str, object]) -> httpx.Response:
    return await http.put("/v1/routing/rules", json={"rules": list(docs)}, headers=ADMIN)


async def test_a_fallback_naming_an_unknown_rep_is_refused_naming_the_field(
    http: httpx.AsyncClient,
) -> None:
    ann = await api_rep(http, "Ann")
    ghost = str(uuid.uuid4())
    as_rep = await rules(http, {"name": "vip", "pool": [ann], "fallback": {"rep": ghost}})
    assert as_rep.status_code == 422
    assert as_rep.json()["errors"] == [
        {"field": "rules[0].fallback.rep", "message": f"rule 'vip': no rep {ghost}"}
    ]
    in_pool = await rules(http, {"name": "vip", "fallback": {"pool": [ann, ghost]}})
    assert in_pool.json()["errors"] == [
        {"field": "rules[0].fallback.pool[1]", "message": f"rule 'vip': no rep {ghost}"}
    ]
    unknown = await rules(http, {"name": "vip", "fallback": {"pool": "emea-team"}})
    assert unknown.status_code == 422
    [error] = unknown.json()["errors"]
    assert error["field"] == "rules[0].fallback.pool"
    assert "'territory', 'default' or a non-empty list of rep ids" in error["message"]
    assert (await http.get("/v1/routing/rules", headers=ADMIN)).json()["version"] == 0

    stored = await rules(http, {"name": "vip", "pool": [ann], "fallback": {"pool": "default"}})
    assert stored.status_code == 200, stored.text
    assert stored.json()["rules"] == [
        {"name": "vip", "pool": [ann], "fallback": {"pool": "default"}}
    ]


async def test_the_fallback_rep_takes_the_lead_when_the_pool_is_out(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(
        http,
        "Ann",
        out_of_office=[{"start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}],
    )
    lead_ = await api_rep(http, "Lead", weight=0)  # outside every round robin: overflow only
    assert (
        await rules(
            http, {"name": "de", "countries": ["DE"], "pool": [ann], "fallback": {"rep": lead_}}
        )
    ).status_code == 200

    shown = await routed(app, qualified(country="DE"))

    assert (shown["status"], shown["rep"]["rep_id"]) == ("assigned", lead_)
    assert shown["reason"]["rule"] == "de"
    assert (
        shown["reason"]["detail"]
        == "rules v1: rule 'de': no eligible rep among 1; fallback rep Lead"
    )
    steps = [(c["name"], c["step"], c["eligible"]) for c in shown["reason"]["candidates"]]
    assert steps == [("Ann", "pool", False), ("Lead", "fallback", True)]


async def test_the_fallback_pool_is_round_robin_over_its_eligible_reps(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann", max_open_leads=0)
    bob = await api_rep(http, "Bob", territories=["DE"])
    await api_rep(http, "Cid", territories=["US"])
    dan = await api_rep(http, "Dan", territories=["EMEA"])
    fallback = {"pool": "territory"}
    assert (
        await rules(http, {"name": "de", "pool": [ann], "fallback": fallback})
    ).status_code == 200

    owners = [(await routed(app, qualified(country="DE")))["rep"]["rep_id"] for _ in range(4)]

    assert sorted(owners) == sorted([bob, bob, dan, dan])  # Cid does not cover DE
