"""Who reads which lead, on SQLite and PostgreSQL: a key only its own captures; a public form
post never learns another submission's lead id."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from leadflow.events import LeadCaptured
from support.apps import ADMIN, client, outbox
from support.intake import ORIGIN, MakeApp, api_key, new_form

SCRIPT = {"Origin": ORIGIN, "Accept": "*/*"}
HTML = {"Origin": ORIGIN, "Accept": "text/html"}


async def _lead(http: httpx.AsyncClient, key: dict[str, str], email: str) -> str:
    r = await http.post("/v1/leads", json={"email": email, "first_name": "Ada"}, headers=key)
    assert r.status_code == 202, r.text
    lead_id: str = r.json()["lead_id"]
    return lead_id


async def test_a_key_reads_only_the_leads_it_captured(make_app: MakeApp) -> None:
    app = await make_app()
    async with client(app) as http:
        mine, theirs = await api_key(http, "website"), await api_key(http, "partner")
        own = await _lead(http, mine, "ada@example.com")
        r = await http.post(
            "/v1/leads/batch", json={"leads": [{"email": "bo@example.com"}]}, headers=mine
        )
        batched = r.json()["results"][0]["lead_id"]
        for lead_id in (own, batched):
            assert (await http.get(f"/v1/leads/{lead_id}", headers=mine)).status_code == 200
            other = await http.get(f"/v1/leads/{lead_id}", headers=theirs)
            assert other.status_code == 404
            assert other.headers["content-type"] == "application/problem+json"
            assert "Ada" not in other.text
            assert (await http.get(f"/v1/leads/{lead_id}", headers=ADMIN)).status_code == 200
        # Another key sending the same person touches the lead without learning its id
        # (test_intake_touch_trust.py); it still may not read it.
        again = await _lead(http, theirs, "ada@example.com")
        assert again != own
        assert (await http.get(f"/v1/leads/{own}", headers=theirs)).status_code == 404
        # A lead from a web form was captured by no key: only the admin reads it.
        form = await new_form(http)
        r = await http.post(form["submit_url"], json={"email": "cy@example.com"}, headers=SCRIPT)
        from_form = r.json()["lead_id"]
        assert (await http.get(f"/v1/leads/{from_form}", headers=mine)).status_code == 404
        assert (await http.get(f"/v1/leads/{from_form}", headers=ADMIN)).status_code == 200


async def test_a_form_post_with_a_known_email_never_answers_the_known_lead_id(
    make_app: MakeApp,
) -> None:
    app = await make_app()
    async with client(app) as http:
        key = await api_key(http)
        known = await _lead(http, key, "ada@example.com")
        form = await new_form(http, redirect_url="https://www.example.com/thanks")
        r = await http.post(form["submit_url"], json={"email": "ADA@example.com"}, headers=SCRIPT)
        assert r.status_code == 202
        assert set(r.json()) == {"lead_id", "status"}  # the contract's answer, no `duplicate`
        script_id = r.json()["lead_id"]
        r = await http.post(form["submit_url"], data={"email": "ada@example.com"}, headers=HTML)
        assert r.status_code == 303
        html_id = parse_qs(urlsplit(r.headers["location"]).query)["lead_id"][0]
        assert known not in (script_id, html_id)
        assert script_id != html_id  # each answer is the post's own, tied to nothing
        for answered in (script_id, html_id):
            assert (await http.get(f"/v1/leads/{answered}", headers=ADMIN)).status_code == 404
        # The events are right all the same: two more touches of the known lead.
        events = [e.data for e in await outbox(app) if isinstance(e.data, LeadCaptured)]
        assert [(str(e.lead_id), e.duplicate, e.touch) for e in events] == [
            (known, False, 1),
            (known, True, 2),
            (known, True, 3),
        ]
        # A new person's post is answered with its lead's real id.
        r = await http.post(form["submit_url"], json={"email": "new@example.com"}, headers=SCRIPT)
        created = r.json()["lead_id"]
        exported = await http.get(f"/v1/leads/{created}", headers=ADMIN)
        assert exported.json()["lead"]["email"] == "new@example.com"
        # The same new person twice: the second post does not learn the first one's id.
        r = await http.post(form["submit_url"], json={"email": "new@example.com"}, headers=SCRIPT)
        assert r.json()["lead_id"] != created
