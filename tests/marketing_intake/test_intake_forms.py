"""Web forms over HTTP, on SQLite and PostgreSQL: settings, posts of every kind, CORS, bots."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from leadflow.events import LeadCaptured
from marketing_intake.settings import IntakeSettings
from support.apps import ADMIN, client, outbox
from support.intake import ORIGIN, MakeApp, metric, new_form

HTML = {"Origin": ORIGIN, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SCRIPT = {"Origin": ORIGIN, "Accept": "*/*"}


@pytest.fixture
async def app(make_app: MakeApp) -> FastAPI:
    return await make_app()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        yield c


async def captured(app: FastAPI) -> list[LeadCaptured]:
    return [e.data for e in await outbox(app) if isinstance(e.data, LeadCaptured)]


async def test_forms_are_created_listed_read_changed_and_deleted(http: httpx.AsyncClient) -> None:
    form = await new_form(
        http,
        allowed_origins=["HTTPS://WWW.Example.com:443/"],
        field_map={"your-email": "email", "org": "company", "budget": "custom.budget"},
        required=["company"],
        honeypot_field="fax",
    )
    assert form["allowed_origins"] == [ORIGIN]
    assert form["submit_url"].endswith(f"/v1/forms/{form['form_id']}/submissions")
    url = f"/v1/forms/{form['form_id']}"
    assert (await http.get(url, headers=ADMIN)).json() == form
    assert [f["form_id"] for f in (await http.get("/v1/forms", headers=ADMIN)).json()] == [
        form["form_id"]
    ]
    r = await http.patch(url, json={"name": "Demo request", "redirect_url": None}, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Demo request"
    assert r.json()["field_map"] == form["field_map"]
    assert (await http.get("/v1/forms")).status_code == 401
    assert (await http.delete(url, headers=ADMIN)).status_code == 204
    assert (await http.get(url, headers=ADMIN)).status_code == 404
    assert (await http.delete(url, headers=ADMIN)).status_code == 404
    missing = await http.post(f"{url}/submissions", json={"email": "a@b.co"}, headers=SCRIPT)
    assert missing.status_code == 404


async def test_bad_form_settings_are_each_named(http: httpx.AsyncClient) -> None:
    body = {
        "name": "x",
        "allowed_origins": ["https://ok.example", "ftp://nope", "https://x.example/path"],
        "field_map": {"e": "emial", "c": "company"},
        "required": ["company", "favourite_colour"],
        "redirect_url": "/thanks",
    }
    r = await http.post("/v1/forms", json=body, headers=ADMIN)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == {
        "allowed_origins.1",
        "allowed_origins.2",
        "field_map.e",
        "required.1",
        "redirect_url",
    }
    form = await new_form(http)
    r = await http.patch(
        f"/v1/forms/{form['form_id']}",
        json={"field_map": {"mail": "e_mail"}, "name": None},
        headers=ADMIN,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"field_map.mail", "name"}


async def test_a_plain_html_post_is_redirected_with_the_lead_id(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    form = await new_form(
        http,
        redirect_url="https://www.example.com/thanks?x=1",
        field_map={"your-email": "email", "org": "company"},
    )
    r = await http.post(
        form["submit_url"],
        data={
            "your-email": "Grace@Example.com",
            "org": "Navy",
            "utm_source": "ads",
            "_lf_page": "https://www.example.com/demo?utm_campaign=spring",
            "g-recaptcha-response": "token",
            "csrfmiddlewaretoken": "abc",
            "submit": "Send",
        },
        headers={**HTML, "Referer": "https://www.example.com/"},
    )
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    query = parse_qs(target.query)
    assert target.path == "/thanks"
    assert query["x"] == ["1"]
    [lead] = [c.lead for c in await captured(app)]
    assert query["lead_id"] == [str(lead.lead_id)]
    assert lead.email == "grace@example.com"
    assert lead.company == "Navy"
    assert lead.attribution.form_id == form["form_id"]
    assert lead.attribution.source == "web_form"
    assert lead.attribution.utm_source == "ads"
    assert lead.attribution.utm_campaign == "spring"
    assert lead.attribution.landing_page == "https://www.example.com/demo?utm_campaign=spring"
    assert lead.custom == {}  # captcha, csrf and the button are not lead data


async def test_a_script_post_gets_202_json_with_cors(http: httpx.AsyncClient, app: FastAPI) -> None:
    form = await new_form(http, require_consent=True, consent_text="newsletter-v3")
    r = await http.post(
        form["submit_url"], json={"email": "ada@example.com", "consent": "on"}, headers=SCRIPT
    )
    assert r.status_code == 202, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert set(r.json()) == {"lead_id", "status"}
    [event] = await captured(app)
    assert event.lead.consent.marketing is True
    assert event.lead.consent.text == "newsletter-v3"
    refused = await http.post(form["submit_url"], json={"email": "b@example.com"}, headers=SCRIPT)
    assert refused.status_code == 422
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert [e["field"] for e in refused.json()["errors"]] == ["consent_marketing"]


async def test_multipart_is_flattened_and_a_file_is_refused(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    form = await new_form(http)
    r = await http.post(
        form["submit_url"],
        data={"email": "linus@example.com", "interests": ["a", "b"], "company": "Kernel"},
        files={"ignored_marker": (None, "plain")},  # forces multipart/form-data
        headers=SCRIPT,
    )
    assert r.status_code == 202, r.text
    [event] = await captured(app)
    assert event.lead.company == "Kernel"
    assert event.lead.custom == {"interests": ["a", "b"], "ignored_marker": "plain"}
    r = await http.post(
        form["submit_url"],
        data={"email": "x@example.com"},
        files={"cv": ("cv.pdf", b"%PDF-1.4", "application/pdf")},
        headers=SCRIPT,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["cv"]
    r = await http.post(
        form["submit_url"],
        content=b"email=x@example.com",
        headers={**SCRIPT, "Content-Type": "text/plain"},
    )
    assert r.status_code == 415


async def test_origins_are_checked_and_preflight_answered_for_allowed_ones_only(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    form = await new_form(http)
    url = form["submit_url"]
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = await http.options(url, headers={"Origin": ORIGIN, **asked})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert ok.headers["access-control-allow-headers"] == "content-type"
    evil = await http.options(url, headers={"Origin": "https://evil.example", **asked})
    assert evil.status_code == 403
    assert "access-control-allow-origin" not in evil.headers
    lead = {"email": "eve@example.com"}
    r = await http.post(url, json=lead, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    assert (await http.post(url, json=lead, headers={"Origin": "null"})).status_code == 403
    assert (await http.post(url, json=lead)).status_code == 403  # neither Origin nor Referer
    by_referer = await http.post(url, json=lead, headers={"Referer": f"{ORIGIN}/contact?a=1"})
    assert by_referer.status_code == 202
    bad_referer = await http.post(url, json=lead, headers={"Referer": "https://evil.example/"})
    assert bad_referer.status_code == 403
    assert len(await captured(app)) == 1


async def test_bots_get_the_same_answer_but_are_dropped_and_counted(
    http: httpx.AsyncClient, app: FastAPI
) -> None:
    form = await new_form(
        http, honeypot_field="fax", min_fill_seconds=3, redirect_url="https://www.example.com/t"
    )
    honeypots = await metric(http, "leadflow_intake_submissions_dropped_total", reason="honeypot")
    fast = await metric(http, "leadflow_intake_submissions_dropped_total", reason="too_fast")
    now = int(time.time() * 1000)
    bot = await http.post(
        form["submit_url"], data={"email": "bot@example.com", "fax": "123"}, headers=HTML
    )
    assert bot.status_code == 303
    assert "lead_id=" in bot.headers["location"]
    hasty = await http.post(
        form["submit_url"],
        data={"email": "fast@example.com", "_lf_ts": str(now - 1000), "_lf_sub": str(now)},
        headers=SCRIPT,
    )
    assert hasty.status_code == 202
    uuid.UUID(hasty.json()["lead_id"])
    human = await http.post(
        form["submit_url"],
        data={"email": "human@example.com", "fax": "", "_lf_ts": str(now - 20_000)},
        headers=SCRIPT,
    )
    assert human.status_code == 202
    assert [c.lead.email for c in await captured(app)] == ["human@example.com"]
    after = await metric(http, "leadflow_intake_submissions_dropped_total", reason="honeypot")
    assert after == honeypots + 1
    after = await metric(http, "leadflow_intake_submissions_dropped_total", reason="too_fast")
    assert after == fast + 1


async def test_the_embed_page_shows_the_snippet_and_a_live_copy(http: httpx.AsyncClient) -> None:
    form = await new_form(
        http,
        name="Demo <request>",
        field_map={"your-email": "email", "tel": "phone", "ok": "consent_marketing"},
        honeypot_field="fax",
        require_consent=True,
    )
    r = await http.get(f"/v1/forms/{form['form_id']}/embed")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "Demo &lt;request&gt;" in page
    assert "&lt;form id=" in page  # the snippet to copy, escaped
    assert f'action="{form["submit_url"]}"' in page  # the live copy
    assert 'name="your-email"' in page
    assert 'type="email"' in page
    assert 'type="tel"' in page
    assert 'name="fax" tabindex="-1"' in page
    assert 'name="_lf_ts"' in page
    assert (await http.get(f"/v1/forms/{uuid.uuid4()}/embed")).status_code == 404


async def test_posts_per_client_address_are_rate_limited(make_app: MakeApp) -> None:
    app = await make_app(rate_limit_form_per_minute=1, rate_limit_form_burst=2)
    async with client(app) as http:
        form = await new_form(http)
        answers = [
            await http.post(form["submit_url"], json={"email": f"p{i}@example.com"}, headers=SCRIPT)
            for i in range(3)
        ]
        assert [a.status_code for a in answers] == [202, 202, 429]
        limited = answers[-1]
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert limited.headers["access-control-allow-origin"] == ORIGIN
        other = await new_form(http)  # another form: its own budget
        r = await http.post(other["submit_url"], json={"email": "q@example.com"}, headers=SCRIPT)
        assert r.status_code == 202


async def _posts_from(app: FastAPI, peer: str, url: str, visitors: list[str]) -> list[int]:
    """Status of one post per visitor (its X-Forwarded-For), all through the peer `peer`."""
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        codes = []
        for i, visitor in enumerate(visitors):
            headers = {**SCRIPT, "X-Forwarded-For": visitor}
            r = await http.post(url, json={"email": f"v{i}@example.com"}, headers=headers)
            codes.append(r.status_code)
    return codes


async def test_the_form_limit_is_per_visitor_behind_a_trusted_proxy_only(
    make_app: MakeApp,
) -> None:
    app = await make_app(
        rate_limit_form_per_minute=1, rate_limit_form_burst=1, trusted_proxies="10.0.0.0/8"
    )
    async with client(app) as http:
        form = await new_form(http)
    url = form["submit_url"]
    # Behind the ingress (a trusted peer): two visitors, a budget each.
    visitors = ["203.0.113.1", "6.6.6.6, 203.0.113.2", "203.0.113.1"]
    assert await _posts_from(app, "10.1.2.3", url, visitors) == [202, 202, 429]
    # From an untrusted peer the header is ignored: new visitors cannot buy a new budget.
    assert await _posts_from(app, "198.51.100.7", url, ["203.0.113.3", "203.0.113.4"]) == [
        202,
        429,
    ]


async def test_form_urls_come_from_the_settings_never_the_host_header(make_app: MakeApp) -> None:
    hostile = {**ADMIN, "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for settings, base in [
        ({"public_url": "https://forms.example.com/intake/"}, "https://forms.example.com/intake"),
        ({"http_host": "127.0.0.1", "http_port": 8123}, "http://127.0.0.1:8123"),  # dev
    ]:
        app = await make_app(**settings)
        async with client(app) as http:
            r = await http.post(
                "/v1/forms", json={"name": "C", "allowed_origins": [ORIGIN]}, headers=hostile
            )
            form = r.json()
            prefix = f"{base}/v1/forms/{form['form_id']}"
            assert (form["submit_url"], form["embed_url"]) == (
                f"{prefix}/submissions",
                f"{prefix}/embed",
            )
            page = (await http.get(f"/v1/forms/{form['form_id']}/embed", headers=hostile)).text
            assert f'action="{prefix}/submissions"' in page
            assert "evil" not in page


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "//evil.example", "https://x.example/?a=1", "https://u@x.example"],
)
def test_a_public_url_that_is_not_a_plain_http_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="LEADFLOW_PUBLIC_URL"):
        IntakeSettings(admin_token="dev-x", public_url=url)
