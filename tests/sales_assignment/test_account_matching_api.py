"""Account aliases and names through the API, and routing by them; SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from assignment_kit import api_rep, qualified, routed
from fastapi import FastAPI

from support.apps import ADMIN

pytestmark = pytest.mark.postgres


def _fields(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [e["field"] for e in answer.json()["errors"]]


async def test_aliases_and_names_are_validated_and_only_admins_write_them(
    http: httpx.AsyncClient,
) -> None:
    ann, bob = await api_rep(http, "Ann"), await api_rep(http, "Bob")
    doc = {"rep_id": ann, "alias_domains": ["WWW.Acme.DE", "acme.de"], "names": ["Acme Inc."]}
    put = await http.put("/v1/accounts/acme.example", json=doc, headers=ADMIN)
    assert put.status_code == 201, put.text
    assert (put.json()["alias_domains"], put.json()["names"]) == (["acme.de"], ["Acme Inc."])

    bad = {
        "alias_domains": ["not a domain"],
        "names": ["x" * 201],
    }
    for key, value in bad.items():
        answer = await http.put(
            "/v1/accounts/other.example", json={"rep_id": bob, key: value}, headers=ADMIN
        )
        assert any(f.startswith(key) for f in _fields(answer)), answer.text
    cases = [
        ({"alias_domains": ["gmail.com"]}, "alias_domains[0]"),
        ({"alias_domains": ["ok.example", "acme.de"]}, "alias_domains[1]"),
        ({"alias_domains": ["other.example"]}, "alias_domains[0]"),
        ({"names": ["Other", "!!!"]}, "names[1]"),
    ]
    for extra, field in cases:
        doc = {"rep_id": bob, **extra}
        answer = await http.put("/v1/accounts/other.example", json=doc, headers=ADMIN)
        assert _fields(answer) == [field], answer.text
    taken = await http.put("/v1/accounts/acme.de", json={"rep_id": bob}, headers=ADMIN)
    assert _fields(taken) == ["domain"]

    token = await http.post("/v1/tokens", json={"role": "analyst"}, headers=ADMIN)
    analyst = {"Authorization": f"Bearer {token.json()['token']}"}
    listed = await http.get("/v1/accounts", headers=analyst)
    assert [a["alias_domains"] for a in listed.json()] == [["acme.de"]]
    write = await http.put("/v1/accounts/x.example", json={"rep_id": bob}, headers=analyst)
    assert write.status_code == 403


async def test_free_mail_leads_reach_the_owner_by_company_name_and_ties_go_round_robin(
    app: FastAPI, http: httpx.AsyncClient
) -> None:
    ann, bob = await api_rep(http, "Ann"), await api_rep(http, "Bob")
    accounts = {
        "acme.example": {"rep_id": ann, "alias_domains": ["acme.de"], "names": ["Acme Inc."]},
        "initech.example": {"rep_id": bob, "names": ["Initech"]},
        "initech-eu.example": {"rep_id": ann, "names": ["Initech GmbH"]},
    }
    for domain, doc in accounts.items():
        answer = await http.put(f"/v1/accounts/{domain}", json=doc, headers=ADMIN)
        assert answer.status_code == 201, answer.text

    for _ in range(2):  # round robin alone would give Bob one of them
        by_name = await routed(app, qualified(email="x@gmail.com", company="ACME, Incorporated"))
        assert (by_name["rep"]["rep_id"], by_name["reason"]["rule"]) == (ann, "account_owner")
        detail = by_name["reason"]["detail"]
        assert detail == "account owner of acme.example (company name match 1.0)"

    unknown = await routed(app, qualified(email="x@unknown.example", company="Acme"))
    assert unknown["rep"]["rep_id"] == ann
    alias = await routed(app, qualified(email="y@sales.acme.de", company="Initech"))
    assert (alias["rep"]["rep_id"], alias["reason"]["detail"]) == (ann, "account owner of acme.de")

    tied = await routed(app, qualified(email="z@gmail.com", company="Initech Inc."))
    assert tied["reason"]["rule"] == "default"
    assert tied["reason"]["detail"].startswith(
        "ambiguous account match: initech-eu.example, initech.example; rule 'default'"
    )
