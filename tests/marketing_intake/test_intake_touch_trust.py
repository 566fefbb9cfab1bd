"""Touches from another credential, on SQLite and PostgreSQL: a stranger's post never rewrites
a known lead, another key never learns it."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from leadflow.events import LeadCaptured, LeadErased
from support.apps import ADMIN, client, outbox
from support.intake import ORIGIN, MakeApp, api_key, new_form

SCRIPT = {"Origin": ORIGIN, "Accept": "*/*"}
REAL = {"email": "ceo@bigcorp.example", "first_name": "Real", "phone": "+44 20 7946 0000"}
HOSTILE = {
    "email": "CEO@bigcorp.example",
    "first_name": "Mallory",
    "phone": "+44 20 7946 0999",
    "job_title": "CEO",
    "company_size": "5000",
    "utm_source": "evil",
}


async def _captures(app: FastAPI) -> list[LeadCaptured]:
    return [e.data for e in await outbox(app) if isinstance(e.data, LeadCaptured)]


async def _post(http: httpx.AsyncClient, key: dict[str, str], body: dict[str, str]) -> str:
    r = await http.post("/v1/leads", json=body, headers=key)
    assert r.status_code == 202, r.text
    return str(r.json()["lead_id"])


async def test_a_strangers_form_post_touches_the_lead_without_its_fields(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        known = await _post(http, key, REAL)
        form = await new_form(http)
        r = await http.post(form["submit_url"], data=HOSTILE, headers=SCRIPT)
        assert r.status_code == 202, r.text
        stored = (await http.get(f"/v1/leads/{known}", headers=ADMIN)).json()
    first, touch = await _captures(app)
    assert (str(touch.lead_id), touch.duplicate, touch.touch) == (known, True, 2)
    # The touch carries the lead as intake stored it, with the post's attribution only.
    assert touch.lead.first_name == "Real"
    assert touch.lead.phone == first.lead.phone == "+442079460000"
    assert (touch.lead.job_title, touch.lead.company_size) == (None, None)
    assert touch.lead.attribution.form_id == form["form_id"]
    assert touch.lead.attribution.utm_source == "evil"
    assert touch.lead.lead_id == first.lead.lead_id
    assert stored["touches"] == 2
    assert stored["lead"]["first_name"] == "Real"
    assert stored["lead"]["job_title"] is None


async def test_a_touch_of_the_same_key_fills_only_the_empty_fields(make_app: MakeApp) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        lead_id = await _post(http, key, REAL)
        again = {**HOSTILE, "first_name": "Other", "company": "BigCorp"}
        r = await http.post("/v1/leads", json=again, headers=key)
        assert r.json() == {"lead_id": lead_id, "status": "accepted", "duplicate": True}
        stored = (await http.get(f"/v1/leads/{lead_id}", headers=key)).json()["lead"]
    assert (stored["first_name"], stored["phone"]) == ("Real", "+442079460000")
    assert (stored["job_title"], stored["company"], stored["company_size"]) == (
        "CEO",
        "BigCorp",
        5000,
    )
    touch = (await _captures(app))[-1]
    assert touch.lead.model_dump(include={"first_name", "phone", "job_title", "company"}) == {
        "first_name": "Real",
        "phone": "+442079460000",
        "job_title": "CEO",
        "company": "BigCorp",
    }


async def test_another_key_neither_learns_nor_rewrites_a_known_lead(make_app: MakeApp) -> None:
    app = await make_app()
    async with client(app) as http:
        a, b = await api_key(http, "partner-a"), await api_key(http, "partner-b")
        known = await _post(http, a, REAL)
        r = await http.post("/v1/leads", json=HOSTILE, headers=b)
        first = r.json()
        # Answered as a new person is: a fresh id, not a duplicate.
        assert first["duplicate"] is False
        assert first["lead_id"] != known
        new_person = await http.post("/v1/leads", json={"email": "x@new.example"}, headers=b)
        # B reads what B sent under its id, as it reads a new person's lead: nothing of A's.
        for lead_id in (first["lead_id"], new_person.json()["lead_id"]):
            assert (await http.get(f"/v1/leads/{lead_id}", headers=b)).status_code == 200
        mine = (await http.get(f"/v1/leads/{first['lead_id']}", headers=b)).json()
        assert mine["lead"]["first_name"] == "Mallory"
        assert "Real" not in str(mine)
        assert known not in str(mine)
        assert (await http.get(f"/v1/leads/{first['lead_id']}", headers=a)).status_code == 404
        # B's repeat is B's own duplicate: B's id again.
        again = (await http.post("/v1/leads", json=HOSTILE, headers=b)).json()
        assert (again["lead_id"], again["duplicate"]) == (first["lead_id"], True)
        # The batch answers the same way, 500 at a time.
        batch = {"leads": [REAL, {"email": "y@new.example"}]}
        results = (await http.post("/v1/leads/batch", json=batch, headers=b)).json()["results"]
        assert results[0]["lead_id"] == first["lead_id"]
        assert known not in {x["lead_id"] for x in results}
        batch = {"leads": [{"email": "z@new.example"}]}
        c = await api_key(http, "partner-c")
        seen = (await http.post("/v1/leads/batch", json={"leads": [REAL]}, headers=c)).json()
        unseen = (await http.post("/v1/leads/batch", json=batch, headers=c)).json()
        assert seen["results"][0]["duplicate"] is unseen["results"][0]["duplicate"] is False
        assert seen["results"][0]["lead_id"] != known
        # A's lead is unchanged, touched once per submission of B and C, all under A's id.
        stored = (await http.get(f"/v1/leads/{known}", headers=a)).json()
        assert (stored["touches"], stored["lead"]["first_name"]) == (5, "Real")
    touches = [e for e in await _captures(app) if str(e.lead_id) == known]
    assert [e.touch for e in touches] == [1, 2, 3, 4, 5]
    assert {(e.lead.first_name, e.lead.phone) for e in touches} == {("Real", "+442079460000")}


async def test_erasing_a_lead_erases_what_other_keys_sent_of_the_person(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        a, b = await api_key(http, "partner-a"), await api_key(http, "partner-b")
        known = await _post(http, a, REAL)
        theirs = await _post(http, b, HOSTILE)
        assert (await http.delete(f"/v1/leads/{known}", headers=ADMIN)).status_code == 202
        for lead_id in (known, theirs):
            r = await http.get(f"/v1/leads/{lead_id}", headers=ADMIN)
            assert r.json()["lead"] is None, lead_id
        # Erasing B's id erases the person: the lead it touched too.
        other = await _post(http, a, {"email": "bo@example.com", "first_name": "Bo"})
        via_b = await _post(http, b, {"email": "bo@example.com", "first_name": "Bob"})
        assert (await http.delete(f"/v1/leads/{via_b}", headers=ADMIN)).status_code == 202
        for lead_id in (other, via_b):
            r = await http.get(f"/v1/leads/{lead_id}", headers=ADMIN)
            assert r.json()["lead"] is None, lead_id
    erased = {str(e.data.lead_id) for e in await outbox(app) if isinstance(e.data, LeadErased)}
    assert erased == {known, other}
