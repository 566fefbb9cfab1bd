"""Erasure from the outside: a real lead through the four services, erased, then no service's
database or API and no stored webhook holds the person's data within 30 s, and a CRM
subscribed to `lead.erased` gets a correctly signed one. Also when the erasure races the
lead's events (erased right after its capture)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from support.kafka_tools import eventually
from support.receiver import Receiver
from support.stack import SERVICES, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.kafka]

DEADLINE = 30.0  # the contract's promise, from the 202


def person(token: str) -> dict[str, Any]:
    """A lead that qualifies, each personal field carrying `token` (the phone aside)."""
    return {
        "email": f"ada.{token}@{token}-corp.example",
        "first_name": f"Ada{token}",
        "last_name": f"Lovelace{token}",
        "phone": "+49 30 901820",
        "company": f"Zephyr{token} GmbH",
        "job_title": f"VP Sales {token}",
        "company_size": 800,
        "industry": "software",
        "country": "DE",
        "website": f"https://www.{token}-corp.example/about",
        "attribution": {
            "source": "webinar",
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": "q4-launch",
            "utm_term": f"term{token}",
            "utm_content": f"content{token}",
            "referrer": f"https://news.example/{token}-story",
            "landing_page": f"https://ours.example/land?who={token}",
        },
        "consent": {"marketing": True, "text": f"I agree, {token}"},
        "custom": {"favourite_colour": f"colour{token}"},
    }


class Crm:
    """What the test sets up once: a CRM endpoint subscribed to lead.erased, reps, a key."""

    def __init__(self, stack: Stack, receiver: Receiver) -> None:
        self.stack, self.receiver = stack, receiver
        self.secret = self.key = ""

    async def setup(self, http: httpx.AsyncClient) -> None:
        events = ["lead.assigned", "lead.erased"]
        self.secret = await self.stack.add_endpoint(http, self.receiver.url, events)
        for name in ("Rita", "Sam"):
            await self.stack.add_rep(http, name)
        self.key = await self.stack.add_api_key(http, "e")

    async def capture(self, http: httpx.AsyncClient, body: dict[str, Any]) -> str:
        r = await http.post(
            f"{self.stack.url('marketing-intake')}/v1/leads",
            json=body,
            headers={"Authorization": f"Bearer {self.key}"},
        )
        assert r.status_code == 202, r.text
        return str(r.json()["lead_id"])

    async def erase(self, http: httpx.AsyncClient, lead_id: str) -> float:
        r = await http.delete(
            f"{self.stack.url('marketing-intake')}/v1/leads/{lead_id}", headers=self.stack.admin()
        )
        assert r.status_code == 202, r.text
        return time.time()  # the receiver stamps what it gets with the same clock

    def hooks(self, lead_id: str) -> list[tuple[Any, dict[str, Any]]]:
        """The webhooks of this lead the CRM received, each verified (a bad signature fails)."""
        out = []
        for received, doc in self.receiver.payloads():
            if doc["data"]["lead"]["lead_id"] == lead_id:
                Webhook(self.secret).verify(received.body, received.headers)
                out.append((received, doc))
        return out


@pytest.fixture(scope="module")
async def crm(stack: Stack, receiver: Receiver) -> Crm:
    c = Crm(stack, receiver)
    async with httpx.AsyncClient(timeout=30) as http:
        await c.setup(http)
    return c


def databases(stack: Stack) -> str:
    """Every row of every table of the four services' SQLite databases, as text."""
    parts = []
    for name in SERVICES:
        path = Path(stack.base) / name / f"{name}.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            tables = [
                t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    parts.append(f"{name}.{table}: " + " | ".join(map(_text, row)))
        finally:
            conn.close()
    return "\n".join(parts)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


async def apis(stack: Stack, http: httpx.AsyncClient, lead_id: str) -> str:
    """What every service's API answers about the lead, as text."""
    admin = stack.admin()
    urls = [
        f"{stack.url('marketing-intake')}/v1/leads/{lead_id}",
        f"{stack.url('lead-scoring')}/v1/scores/{lead_id}",
        f"{stack.url('sales-assignment')}/v1/assignments/{lead_id}",
        f"{stack.url('feedback')}/v1/leads/{lead_id}/journey",
    ]
    endpoints = (await http.get(f"{stack.url('sales-assignment')}/v1/webhook-endpoints",
                                headers=admin)).json()  # fmt: skip
    urls += [
        f"{stack.url('sales-assignment')}/v1/webhook-endpoints/{e['id']}/deliveries"
        for e in endpoints
    ]
    answers = [await http.get(url, headers=admin) for url in urls]
    return "\n".join(f"{a.request.url}: {a.status_code} {a.text}" for a in answers)


def traces(token: str) -> list[str]:
    """What would show the person: the token every field carries, and the phone's digits."""
    return [token, "901820"]


# Where each service records that it handled a lead's erasure.
ERASED_ROWS = {
    "marketing-intake": "SELECT erased_at FROM leads WHERE lead_id = ?",
    "lead-scoring": "SELECT erased_at FROM lead_scores WHERE lead_id = ?",
    "sales-assignment": "SELECT erased_at FROM assignments WHERE lead_id = ?",
    "feedback": "SELECT erased_at FROM lead_facts WHERE lead_id = ?",
}


def erased_everywhere(stack: Stack, lead_id: str) -> bool:
    """Whether all four services have handled the erasure (SQLite keeps a UUID as hex)."""
    for name, query in ERASED_ROWS.items():
        path = Path(stack.base) / name / f"{name}.db"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(query, (uuid.UUID(lead_id).hex,)).fetchone()
        finally:
            conn.close()
        if row is None or row[0] is None:
            return False
    return True


async def until_gone(stack: Stack, http: httpx.AsyncClient, lead_id: str, token: str) -> float:
    """Wait until every service has handled the erasure and none of their databases and
    APIs holds the person; the seconds it took. Then check again a little later: nothing
    still in flight brings anything back."""
    started = time.monotonic()
    while True:
        done = erased_everywhere(stack, lead_id)
        text = databases(stack) + await apis(stack, http, lead_id)
        found = [line for line in text.splitlines() if any(t in line for t in traces(token))]
        if done and not found:
            break
        assert time.monotonic() - started < DEADLINE, (
            f"erased everywhere: {done}; still held:\n" + "\n".join(found)[:3000]
        )
        await asyncio.sleep(0.5)
    took = time.monotonic() - started
    await asyncio.sleep(3)
    text = databases(stack) + await apis(stack, http, lead_id)
    back = [line for line in text.splitlines() if any(t in line for t in traces(token))]
    assert not back, "came back after the erasure:\n" + "\n".join(back)[:3000]
    return took


async def test_an_erased_lead_leaves_nothing_in_any_service_and_the_crm_is_told(
    crm: Crm, stack: Stack
) -> None:
    token = uuid.uuid4().hex[:12]
    async with httpx.AsyncClient(timeout=30) as http:
        lead_id = await crm.capture(http, person(token))
        await eventually(lambda: any(d["type"] == "lead.assigned" for _, d in crm.hooks(lead_id)),
                         timeout=60)  # fmt: skip
        r = await http.post(
            f"{stack.url('feedback')}/v1/outcomes",
            headers=stack.admin(),
            json={"lead_id": lead_id, "stage": "contacted", "reason": f"called {token}"},
        )
        assert r.status_code == 202, r.text
        await eventually(lambda: token in databases(stack), timeout=30)  # the test sees it
        erased_at = await crm.erase(http, lead_id)

        assert await until_gone(stack, http, lead_id, token) < DEADLINE

        await eventually(lambda: any(d["type"] == "lead.erased" for _, d in crm.hooks(lead_id)),
                         timeout=DEADLINE)  # fmt: skip
        [(received, doc)] = [(r, d) for r, d in crm.hooks(lead_id) if d["type"] == "lead.erased"]
        assert doc["data"] == {"lead": {"lead_id": lead_id}}
        assert received.at - erased_at < DEADLINE
        # Whatever reached the CRM after the erasure carries nothing of the person.
        assert not any(t in received.body.decode() for t in traces(token))
        # The lead is never routed again: nothing but lead.erased follows.
        await asyncio.sleep(2)
        assert [d["type"] for _, d in crm.hooks(lead_id)] == ["lead.assigned", "lead.erased"]


async def test_a_lead_erased_while_its_events_are_in_flight_leaves_nothing(
    crm: Crm, stack: Stack
) -> None:
    token = uuid.uuid4().hex[:12]
    async with httpx.AsyncClient(timeout=30) as http:
        lead_id = await crm.capture(http, person(token))
        await crm.erase(http, lead_id)  # at once: capture, score and MQL are still on their way
        await until_gone(stack, http, lead_id, token)
        await eventually(lambda: any(d["type"] == "lead.erased" for _, d in crm.hooks(lead_id)),
                         timeout=DEADLINE)  # fmt: skip
    for _, doc in crm.hooks(lead_id):
        if doc["type"] == "lead.erased":
            assert doc["data"] == {"lead": {"lead_id": lead_id}}
    await asyncio.sleep(2)
    assert crm.hooks(lead_id)[-1][1]["type"] == "lead.erased"
    text = json.dumps([d for _, d in crm.hooks(lead_id) if d["type"] != "lead.assigned"])
    assert token not in text
