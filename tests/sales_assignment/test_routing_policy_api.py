"""Routing rules (versioned) and account owners through the API, used by routing; both DBs."""

from __future__ import annotations

import uuid

import httpx
import pytest
from assignment_kit import api_rep, qualified, routed
from fastapi import FastAPI

from support.apps import ADMIN

pytestmark = pytest.mark.postgres


async def test_rules_are_validated_versioned_and_kept(http: httpx.AsyncClient) -> None:
    empty = await http.get("/v1/routing/rules", headers=ADMIN)
    assert empty.json() == {"version": 0, "created_at": None, "rules": []}
    assert (await http.put("/v1/routing/rules", json={"rules": []})).status_code == 401

    bad = await http.put(
        "/v1/routing/rules",
        json={
            "rules": [
                {"name": "ok", "countries": ["DE"]},
                {"name": "emea-big", "countries": ["EU"], "min_employees": 10, "max_employees": 5},
            ]
        },
        headers=ADMIN,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert "rules[1].countries[0]" in errors
    assert errors["rules[1].countries[0]"].startswith("rule 'emea-big': unknown country")

    ghost = str(uuid.uuid4())
    unknown = await http.put(
        "/v1/routing/rules", json={"rules": [{"name": "vip", "pool": [ghost]}]}, headers=ADMIN
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [
        {"field": "rules[0].pool[0]", "message": f"rule 'vip': no rep {ghost}"}
    ]
    assert (await http.get("/v1/routing/rules", headers=ADMIN)).json()["version"] == 0

    ann = await api_rep(http, "Ann")
    v1 = await http.put(
        "/v1/routing/rules",
        json={"rules": [{"name": " vip ", "pool": [ann], "min_score": 90}]},
        headers=ADMIN,
    )
    assert v1.status_code == 200, v1.text
    assert (v1.json()["version"], v1.json()["rules"]) == (
        1,
        [{"name": "vip", "pool": [ann], "min_score": 90}],
    )
    v2 = await http.put(
        "/v1/routing/rules", json={"rules": [{"name": "de", "countries": ["de"]}]}, headers=ADMIN
    )
    assert v2.json()["version"] == 2
    active = (await http.get("/v1/routing/rules", headers=ADMIN)).json()
    assert (active["version"], active["rules"]) == (
        2,
        [{"name": "de", "pool": "territory", "countries": ["DE"]}],
    )
    history = (await http.get("/v1/routing/rules/history", headers=ADMIN)).json()
    assert [h["version"] for h in history] == [2, 1]
    assert history[1]["rules"][0]["name"] == "vip"


async def test_routing_follows_the_active_rules(app: FastAPI, http: httpx.AsyncClient) -> None:
    ann = await api_rep(http, "Ann")
    bob = await api_rep(http, "Bob", territories=["US"])
    cid = await api_rep(http, "Cid", territories=["DE"])
    rules = [
        {"name": "enterprise", "min_employees": 1000, "pool": [ann]},
        {"name": "by-territory", "countries": ["US", "DE"]},
    ]
    assert (await http.put("/v1/routing/rules", json={"rules": rules}, headers=ADMIN)).is_success

    big = await routed(app, qualified(company_size=5000, country="US"))
    assert (big["rep"]["rep_id"], big["reason"]["rule"]) == (ann, "enterprise")
    assert big["reason"]["detail"].startswith("rules v1: ")
    us = await routed(app, qualified(country="US"))
    assert (us["rep"]["rep_id"], us["reason"]["rule"]) == (bob, "by-territory")
    de = await routed(app, qualified(country="DE"))
    assert de["rep"]["rep_id"] == cid
    fr = await routed(app, qualified(country="FR"))
    assert fr["reason"]["rule"] == "default"
    assert fr["rep"]["rep_id"] == ann  # the only rep whose (empty) territories cover FR


async def test_account_owners_are_managed_and_win_first(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann = await api_rep(http, "Ann")
    bob = await api_rep(http, "Bob")
    put = await http.put("/v1/accounts/WWW.Acme.Example", json={"rep_id": bob}, headers=ADMIN)
    assert put.status_code == 201, put.text
    assert (put.json()["domain"], put.json()["rep_id"]) == ("acme.example", bob)
    again = await http.put("/v1/accounts/acme.example", json={"rep_id": bob}, headers=ADMIN)
    assert again.status_code == 200

    for domain, field in (("gmail.com", "domain"), ("localhost", "domain")):
        answer = await http.put(f"/v1/accounts/{domain}", json={"rep_id": bob}, headers=ADMIN)
        assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, field)
    ghost = await http.put(
        "/v1/accounts/other.example", json={"rep_id": str(uuid.uuid4())}, headers=ADMIN
    )
    assert (ghost.status_code, ghost.json()["errors"][0]["field"]) == (422, "rep_id")

    listed = (await http.get("/v1/accounts", headers=ADMIN)).json()
    assert [(a["domain"], a["rep_id"]) for a in listed] == [("acme.example", bob)]

    # Round robin would start with either rep; the owner takes every acme lead.
    for _ in range(3):
        shown = await routed(app, qualified(email="someone@eu.acme.example"))
        assert (shown["rep"]["rep_id"], shown["reason"]["rule"]) == (bob, "account_owner")
        assert "account owner of acme.example" in shown["reason"]["detail"]
    # Free mail names no company: the website decides.
    via_site = await routed(app, qualified(email="x@gmail.com", website="https://acme.example"))
    assert via_site["rep"]["rep_id"] == bob

    # An owner who cannot take leads is skipped, with the reason recorded.
    await http.patch(f"/v1/reps/{bob}", json={"active": False}, headers=ADMIN)
    skipped = await routed(app, qualified(email="y@acme.example"))
    assert skipped["rep"]["rep_id"] == ann
    assert "account owner of acme.example skipped: inactive" in skipped["reason"]["detail"]

    assert (await http.delete("/v1/accounts/acme.example", headers=ADMIN)).status_code == 204
    assert (await http.delete("/v1/accounts/acme.example", headers=ADMIN)).status_code == 404
    assert (await http.get("/v1/accounts", headers=ADMIN)).json() == []


async def test_a_new_owner_takes_a_waiting_lead(app: FastAPI, http: httpx.AsyncClient) -> None:
    ann = await api_rep(http, "Ann", territories=["US"])
    waiting = await routed(app, qualified(email="z@acme.example", country="DE"))
    assert (waiting["status"], waiting["rep"]) == ("queued", None)
    await http.put("/v1/accounts/acme.example", json={"rep_id": ann}, headers=ADMIN)
    shown = (await http.get(f"/v1/assignments/{waiting['lead_id']}", headers=ADMIN)).json()
    assert (shown["status"], shown["rep"]["rep_id"]) == ("assigned", ann)
