"""A real browser posts a real `<form>`: headless Chromium (Debian's), intake as a process.

A page served by the test (its own origin) holds the form's embed snippet; Chromium fills
and submits it, follows the 303 back to the page's thank-you URL, and the lead arrives on
`leads.captured` on the real broker.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from leadflow.events import decode
from support.infra import free_port
from support.intake import fresh_group, intake_proc
from support.kafka_tools import end_offsets, read_after
from support.procs import ADMIN_TOKEN, Proc

pytestmark = pytest.mark.kafka


class Site:
    """A tiny website on its own origin: `/` shows `page`, `/thanks` thanks."""

    def __init__(self) -> None:
        self.page = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = (
                    site.page if urlsplit(self.path).path == "/" else "<p id=thanks>Thanks!</p>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def intake(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Proc]:
    db = f"sqlite+aiosqlite:///{tmp_path}/intake.db"
    group = asyncio.run(fresh_group(kafka_bootstrap))
    proc = intake_proc(tmp_path, db, kafka_bootstrap, free_port(), group)
    proc.start()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.terminate()


async def test_chromium_submits_the_embedded_form_and_the_lead_is_published(
    chromium: object, intake: Proc, kafka_bootstrap: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    site = Site()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=intake.url, timeout=30) as http:
            r = await http.post(
                "/v1/forms",
                json={
                    "name": "Demo request",
                    "allowed_origins": [site.origin],
                    "redirect_url": f"{site.origin}/thanks",
                    "field_map": {
                        "work-email": "email",
                        "org": "company",
                        "ok": "consent_marketing",
                    },
                    "honeypot_field": "fax",
                    "require_consent": True,
                    "consent_text": "newsletter-v3",
                    "min_fill_seconds": 1,
                },
                headers=admin,
            )
            assert r.status_code == 201, r.text
            embed = (await http.get(f"/v1/forms/{r.json()['form_id']}/embed")).text
        live = re.search(r"<form id=.*?</script>", embed, re.DOTALL)
        assert live is not None
        site.page = f"<!doctype html><title>Demo</title><h1>Book a demo</h1>{live.group(0)}"
        start = await end_offsets(kafka_bootstrap, ["leads.captured"])

        driver = chromium
        email = f"browser-{uuid.uuid4().hex[:8]}@example.com"
        driver.get(f"{site.origin}/?utm_source=browser-test&utm_campaign=e2e")  # type: ignore[attr-defined]
        driver.find_element(By.NAME, "work-email").send_keys(email)  # type: ignore[attr-defined]
        driver.find_element(By.NAME, "org").send_keys("Chromium Ltd")  # type: ignore[attr-defined]
        driver.find_element(By.NAME, "ok").click()  # type: ignore[attr-defined]
        time.sleep(1.2)  # a person takes longer than min_fill_seconds
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()  # type: ignore[attr-defined]
        WebDriverWait(driver, 20).until(lambda d: "/thanks" in d.current_url)  # type: ignore[arg-type]
        landed = urlsplit(driver.current_url)  # type: ignore[attr-defined]
        assert landed.netloc == urlsplit(site.origin).netloc
        [lead_id] = parse_qs(landed.query)["lead_id"]

        def arrived(messages: list[object]) -> bool:
            return any(m.key == lead_id.encode() for m in messages)  # type: ignore[attr-defined]

        got = await read_after(kafka_bootstrap, start, arrived, timeout=30)
        [message] = [m for m in got if m.key == lead_id.encode()]
        lead = decode(message.value, message.headers).data.lead  # type: ignore[attr-defined]
        assert lead.email == email
        assert lead.company == "Chromium Ltd"
        assert lead.consent.marketing is True
        assert lead.consent.text == "newsletter-v3"
        assert lead.attribution.source == "web_form"
        assert lead.attribution.utm_source == "browser-test"  # from the page the form was on
        assert lead.attribution.landing_page.startswith(site.origin)
    finally:
        site.close()
