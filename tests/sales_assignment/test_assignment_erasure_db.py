"""Erasure in sales-assignment: nothing personal stays, CRMs are told, nothing is routed again."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from assignment_kit import (
    add_rep,
    assignment,
    clock,
    deliveries,
    events,
    handle,
    history,
    qualified,
)
from fastapi import FastAPI
from sqlalchemy import inspect, select
from standardwebhooks import Webhook

from leadflow.erasure_log import LogEraser
from leadflow.events import Envelope, LeadErased
from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.models import AccountOwnerRow, AssignmentRow, DeliveryRow, HistoryRow
from sales_assignment.outbound import DeliveryWorker
from sales_assignment.replay_models import DecisionRow
from support.apps import ADMIN, client
from support.kafka_tools import eventually
from support.receiver import Receiver

pytestmark = pytest.mark.postgres

NOWHERE = "http://127.0.0.1:9/hook"  # never reached: its deliveries stay undelivered
# Everything the contract calls personal, each a value found nowhere else.
PERSON: dict[str, Any] = {
    "email": "ada@acme.example",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "phone": "+4930123456",
    "company": "Acme Analytics",
    "job_title": "Chief Widget Officer",
    "company_size": 137,
    "industry": "jane doe consulting",  # free text naming a person: no rule names it
    "website": "https://acme-analytics.example/about",
    "attribution": {
        "source": "web",
        "utm_source": "newsletter",
        "utm_term": "ada-term",
        "utm_content": "ada-content",
        "referrer": "https://news.example/story-of-ada",
        "landing_page": "https://ours.example/landing?who=ada",
    },
    "consent": {"marketing": True, "text": "I, the person, agree to widgets"},
    "custom": {"favourite": "ada-custom-value"},
}
INDUSTRY = str(PERSON["industry"])
SIZE = 137  # the exact company size: only its band (the segments' 100-999) may stay
TRACES = [
    "ada@acme.example",
    "Ada",
    "Lovelace",
    "+4930123456",
    "Acme Analytics",
    "Chief Widget Officer",
    "acme-analytics.example",
    "acme.example",
    "ada-term",
    "ada-content",
    "news.example",
    "who=ada",
    "agree to widgets",
    "ada-custom-value",
]


def erased(a: Assigner, lead_id: uuid.UUID) -> Envelope:
    return Envelope(
        data=LeadErased(lead_id=lead_id, erased_at=a.clock()), source="/marketing-intake"
    )


async def recorded(a: Assigner, lead_id: uuid.UUID) -> list[dict[str, Any]]:
    """The lead's routing decisions as the replay record holds them."""
    async with a.rt.sessions() as s:
        stmt = select(DecisionRow).where(DecisionRow.lead_id == lead_id)
        return [{"facts": d.facts, "owner_id": d.owner_id} for d in await s.scalars(stmt)]


async def stored_text(a: Assigner, lead_id: uuid.UUID) -> str:
    """Everything sales-assignment holds about the lead, as text."""
    row = await assignment(a, lead_id)
    assert row is not None
    text = json.dumps([row.lead, row.reason, row.facts, row.score, row.rule], default=str)
    text += json.dumps([h.reason for h in await history(a, lead_id)])
    text += "".join(d.body.decode() for d in await deliveries(a, lead_id))
    async with a.rt.sessions() as s:  # the replay record of its routing decisions
        stmt = select(DecisionRow).where(DecisionRow.lead_id == lead_id)
        decided = [(d.facts, d.rule, d.kind, d.owner_id) for d in await s.scalars(stmt)]
    assert decided, "the lead's routing decision is recorded"
    text += json.dumps(decided, default=str)
    return text


def exact_facts(value: Any, where: str = "") -> list[str]:
    """Where `value` (a row's columns, JSON, a stored body) holds the lead's exact company
    size or its free-text industry."""
    if isinstance(value, bytes):
        return exact_facts(json.loads(value), where)
    if isinstance(value, dict):
        at = f"{where}." if where else ""
        return [hit for k, v in value.items() for hit in exact_facts(v, f"{at}{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in exact_facts(v, f"{where}[{i}]")]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [where] if value == SIZE else []
    if isinstance(value, str):
        text = value.casefold()
        return [where] if INDUSTRY in text or text.strip() == str(SIZE) else []
    return []


def columns(row: Any) -> dict[str, Any]:
    """Every column of a stored row, by attribute name."""
    return {c.key: getattr(row, c.key) for c in inspect(type(row)).column_attrs}


async def whole(a: Assigner, lead_id: uuid.UUID) -> dict[str, Any]:
    """The lead's whole assignment row, its history and its webhook deliveries, as stored."""
    async with a.rt.sessions() as s:
        row = await s.get(AssignmentRow, lead_id)
        assert row is not None
        steps = await s.scalars(select(HistoryRow).where(HistoryRow.lead_id == lead_id))
        sent = await s.scalars(select(DeliveryRow).where(DeliveryRow.lead_id == lead_id))
        return {
            "row": columns(row),
            "history": [columns(h) for h in steps],
            "deliveries": [columns(d) for d in sent],
        }


async def test_erasure_leaves_nothing_personal_in_the_lead_facts_reasons_or_webhooks(
    a: Assigner, receiver: Receiver
) -> None:
    ann = await add_rep(a, "Ann")
    async with a.rt.transaction() as uow:  # the lead's company is an account: its reason names it
        s = uow.session
        now = clock(a).now
        s.add(AccountOwnerRow(domain="acme.example", rep_id=ann, created_at=now, updated_at=now))
    await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    await admin.create_endpoint(a, NOWHERE, ["lead.assigned"])
    env = qualified(**PERSON)
    lead_id = env.data.lead_id
    await handle(a, env)
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    await _deliver_to(worker, receiver)
    before = await stored_text(a, lead_id)
    assert all(trace in before for trace in TRACES[:6])  # the test sees what it looks for
    assert [d["facts"] for d in await recorded(a, lead_id)] == [
        {"country": "DE", "company_size": 137, "industry": INDUSTRY, "score": 82}
    ]
    found = exact_facts(await whole(a, lead_id))  # the test sees what it looks for
    for where in ("row.lead", "row.facts", "deliveries[0].body.data.lead"):
        assert {f"{where}.company_size", f"{where}.industry"} <= set(found), found

    await handle(a, erased(a, lead_id))

    after = await stored_text(a, lead_id)
    for trace in TRACES:
        assert trace not in after, trace
    # The replay record keeps the size's band (the segments': 100-999, as no rule cuts it)
    # and no industry no rule names; the country, score and owner (a rep id) stay.
    kept = await recorded(a, lead_id)
    assert [d["facts"] for d in kept] == [
        {"country": "DE", "company_size": 100, "size_band": [100, 999], "industry": None}
        | {"score": 82}
    ]
    assert [d["owner_id"] for d in kept] == [ann]
    # The row, its history and its stripped webhooks keep the same coarse facts, no more.
    stored = await whole(a, lead_id)
    assert exact_facts(stored) == []
    coarse = {"company_size": 100, "size_band": [100, 999], "industry": None, "country": "DE"}
    [delivered] = stored["deliveries"]
    sent = json.loads(delivered["body"])["data"]["lead"]
    for doc in (stored["row"]["lead"], stored["row"]["facts"], sent):
        assert {k: doc.get(k) for k in coarse} == coarse, doc
    left = await deliveries(a, lead_id)
    # The delivered message stays in the log, stripped; the one never sent is dropped.
    assert [(d.event_type, d.status) for d in left] == [("lead.assigned", "delivered")]
    assert json.loads(left[0].body)["data"]["lead"]["lead_id"] == str(lead_id)
    await worker.close()


async def test_the_api_shows_an_erased_lead_without_its_exact_size_or_industry(
    app: FastAPI,
) -> None:
    a: Assigner = app.state.assigner
    await add_rep(a, "Ann")
    env = qualified(**PERSON)
    lead_id = env.data.lead_id
    await handle(a, env)

    await handle(a, erased(a, lead_id))

    async with client(app) as http:
        answer = await http.get(f"/v1/assignments/{lead_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["status"], [h["event"] for h in shown["history"]][-1]) == ("closed", "closed")
    assert exact_facts(shown) == []
    assert exact_facts(await whole(a, lead_id)) == []


async def _deliver_to(worker: DeliveryWorker, receiver: Receiver) -> None:
    """Send what is due; the unreachable endpoint's attempt fails and waits for its retry."""
    await worker.deliver_due()
    await eventually(lambda: bool(receiver.snapshot()), timeout=10)


async def test_endpoints_subscribed_to_lead_erased_get_a_signed_one_with_only_the_lead_id(
    a: Assigner, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    _, secret = await admin.create_endpoint(a, receiver.url, ["lead.assigned", "lead.erased"])
    await admin.create_endpoint(a, NOWHERE, ["lead.assigned"])  # not subscribed: not told
    env = qualified(**PERSON)
    lead_id = env.data.lead_id
    await handle(a, env)
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    await worker.deliver_due()

    await handle(a, erased(a, lead_id))
    await handle(a, erased(a, lead_id))  # a replay tells nobody twice
    await worker.deliver_due()
    await worker.close()

    got = receiver.payloads()
    assert [doc["type"] for _, doc in got] == ["lead.assigned", "lead.erased"]
    received, doc = got[1]
    Webhook(secret).verify(received.body, received.headers)
    assert doc["data"] == {"lead": {"lead_id": str(lead_id)}}
    erasures = [d for d in await deliveries(a, lead_id) if d.event_type == "lead.erased"]
    assert [d.status for d in erasures] == ["delivered"]


async def test_a_lead_never_qualified_here_is_still_announced_as_erased(
    a: Assigner, receiver: Receiver
) -> None:
    await admin.create_endpoint(a, receiver.url, ["lead.erased"])
    lead_id = uuid.uuid4()
    await handle(a, erased(a, lead_id))
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    await worker.deliver_due()
    await worker.close()
    [(_, doc)] = receiver.payloads()
    assert (doc["type"], doc["data"]) == ("lead.erased", {"lead": {"lead_id": str(lead_id)}})


async def test_an_erased_lead_is_never_rerouted_queued_or_sent_again(
    a: Assigner, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    await add_rep(a, "Bob")
    await admin.create_endpoint(
        a, receiver.url, ["lead.assigned", "lead.reassigned", "lead.erased"]
    )
    env = qualified(**PERSON)
    lead_id = env.data.lead_id
    await handle(a, env)
    await handle(a, erased(a, lead_id))
    assigned_events = len(await events(a))

    clock(a).advance(a.settings.assignment_sla_seconds * 3)  # long past the SLA
    assert await a.check_sla() == 0
    assert await a.retry_queue() == 0
    await handle(a, qualified(lead_id, **PERSON))  # a late MQL changes nothing either

    row = await assignment(a, lead_id)
    assert row is not None
    assert (row.status, row.sla_due_at) == ("closed", None)
    assert len(await events(a)) == assigned_events
    types = sorted(d.event_type for d in await deliveries(a, lead_id))
    assert types == ["lead.erased"]  # the lead.assigned never sent was dropped


async def test_an_operators_retry_of_an_erased_leads_old_message_is_refused(
    a: Assigner, receiver: Receiver
) -> None:
    await add_rep(a, "Ann")
    endpoint, _ = await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    env = qualified(**PERSON)
    await handle(a, env)
    worker = DeliveryWorker(a.rt, a.settings, a.clock)
    await _deliver_to(worker, receiver)
    await worker.close()
    [sent] = await deliveries(a, env.data.lead_id)
    await handle(a, erased(a, env.data.lead_id))

    with pytest.raises(admin.Conflict):
        await admin.retry_delivery(a, endpoint.id, sent.id)
    assert len(receiver.snapshot()) == 1


async def test_erasure_drops_the_leads_events_from_the_outbox(a: Assigner) -> None:
    await add_rep(a, "Ann")
    other = qualified()
    env = qualified(**PERSON)
    await handle(a, other)
    await handle(a, env)
    assert {e.data.lead_id for e in await events(a)} == {other.data.lead_id, env.data.lead_id}

    # As the app's consumer runs it: the handler inside the kernel's erasure of the log.
    eraser = LogEraser(a.rt.transaction, produces=[], erasure_delay_seconds=60)
    async with a.rt.transaction() as uow:
        await eraser.handlers(a.handlers())[LeadErased](uow, erased(a, env.data.lead_id))

    assert [e.data.lead_id for e in await events(a)] == [other.data.lead_id]
