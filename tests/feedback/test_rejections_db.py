"""Rejections with reasons (issue 24): from the admin, a sales tool, the lead's rep and a
signed webhook, published with `recycle` as the contract defaults it; bad ones named."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from feedback_events import ADMIN, RITA, SAM, assigned, at, deliver
from sqlalchemy import select
from standardwebhooks import Webhook

from feedback.models import LeadFacts, Outcome
from leadflow.events import Envelope, LeadOutcome, decode
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from support.apps import bearer

pytestmark = pytest.mark.postgres


async def issue(client: httpx.AsyncClient, role: str, subject: str | None = None) -> dict[str, str]:
    return await bearer(client, role, subject, admin=ADMIN)


async def reject(
    client: httpx.AsyncClient, headers: dict[str, str], lead: uuid.UUID, **body: Any
) -> httpx.Response:
    doc = {"lead_id": str(lead), "stage": "rejected", **body}
    return await client.post("/v1/outcomes", json=doc, headers=headers)


async def published(rt: Runtime) -> list[LeadOutcome]:
    """The outcome events in the outbox."""
    out = []
    for env in await outcome_envelopes(rt):
        assert isinstance(env.data, LeadOutcome)
        out.append(env.data)
    return out


async def outcome_envelopes(rt: Runtime) -> list[Envelope]:
    """The outcome events in the outbox (issued tokens travel there too, as records)."""
    async with rt.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_table)
                .where(outbox_table.c.topic == LeadOutcome.topic)
                .order_by(outbox_table.c.id)
            )
        ).all()
    return [decode(r.value, [(k, v.encode()) for k, v in r.headers]) for r in rows]


@pytest.mark.parametrize(
    ("reason", "recycle", "published_recycle"),
    [
        ("not_ready", None, True),
        ("no_contact", None, True),
        ("not_a_fit", None, False),
        ("spam", None, False),
        ("duplicate", False, False),
        ("other", True, True),
        ("not_ready", False, False),
    ],
)
async def test_a_rejection_is_published_with_its_reason_code_and_recycle(
    rt: Runtime,
    client: httpx.AsyncClient,
    reason: str,
    recycle: bool | None,
    published_recycle: bool,
) -> None:
    lead = uuid.uuid4()
    body: dict[str, Any] = {"reason": reason, "occurred_at": at(hours=2).isoformat()}
    if recycle is not None:
        body["recycle"] = recycle
    answer = await reject(client, ADMIN, lead, **body)
    assert answer.status_code == 202, answer.text
    [event] = await published(rt)
    assert (event.stage, event.reason, event.recycle) == ("rejected", reason, published_recycle)
    async with rt.sessions() as s:
        row = await s.scalar(select(Outcome).where(Outcome.lead_id == lead))
    assert row is not None
    assert (row.stage, row.reason, row.recycle) == ("rejected", reason, published_recycle)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),  # a rejection needs a reason
        ({"reason": "too expensive"}, "reason"),  # free text is not a code
        ({"reason": "spam", "recycle": True}, "recycle"),
        ({"reason": "duplicate", "recycle": True}, "recycle"),
    ],
)
async def test_a_bad_rejection_is_422_naming_the_field(
    rt: Runtime, client: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    answer = await reject(client, ADMIN, uuid.uuid4(), **body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text
    assert await published(rt) == []


async def test_recycle_on_another_stage_is_422_naming_recycle(client: httpx.AsyncClient) -> None:
    doc = {"lead_id": str(uuid.uuid4()), "stage": "lost", "recycle": True}
    answer = await client.post("/v1/outcomes", json=doc, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "recycle" in answer.text


async def test_a_rep_rejects_only_their_own_lead_and_a_sales_tool_any(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    ritas, sams = uuid.uuid4(), uuid.uuid4()
    await deliver(rt, assigned(ritas, RITA, at(minutes=5)))
    await deliver(rt, assigned(sams, SAM, at(minutes=5)))
    rita = await issue(client, "rep", str(RITA.rep_id))
    refused = await reject(client, rita, sams, reason="not_a_fit")
    assert refused.status_code == 403, refused.text
    assert (await reject(client, rita, ritas, reason="not_ready")).status_code == 202
    tool = await issue(client, "sales_tool", "HubSpot")
    assert (await reject(client, tool, sams, reason="spam")).status_code == 202
    analyst = await issue(client, "analyst")
    assert (await reject(client, analyst, sams, reason="spam")).status_code == 403
    events = {e.lead_id: e for e in await published(rt)}
    assert (events[ritas].reason, events[ritas].recycle) == ("not_ready", True)
    assert (events[sams].reason, events[sams].recycle) == ("spam", False)
    for env in await outcome_envelopes(rt):  # what feedback's consumer folds
        await deliver(rt, env)
    async with rt.sessions() as s:
        facts = {f.lead_id: f for f in await s.scalars(select(LeadFacts))}
    # The fold: the latest rejection, its code and whether it went back to marketing.
    assert (facts[ritas].rejection_reason, facts[ritas].recycled) == ("not_ready", True)
    assert facts[ritas].rejected_at is not None
    assert facts[ritas].lost_at is None
    # The journey shows the rejection and that the lead went back to marketing.
    journey = await client.get(f"/v1/leads/{ritas}/journey", headers=ADMIN)
    [entry] = [e["data"] for e in journey.json()["events"] if e["ce_type"].endswith("outcome.v1")]
    assert (entry["stage"], entry["reason"], entry["recycle"]) == ("rejected", "not_ready", True)


async def test_a_won_lead_is_not_rejected_unless_reopened(client: httpx.AsyncClient) -> None:
    lead = uuid.uuid4()
    won = {"lead_id": str(lead), "stage": "won"}
    assert (await client.post("/v1/outcomes", json=won, headers=ADMIN)).status_code == 202
    assert (await reject(client, ADMIN, lead, reason="not_a_fit")).status_code == 409
    reopened = await reject(client, ADMIN, lead, reason="not_a_fit", reopen=True)
    assert reopened.status_code == 202, reopened.text


async def test_a_signed_webhook_rejects_a_lead_like_post_outcomes(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/v1/integrations", json={"name": "CRM", "kind": "webhook"}, headers=ADMIN
    )
    hook = made.json()
    lead = uuid.uuid4()

    def signed(body: dict[str, Any], msg_id: str) -> tuple[bytes, dict[str, str]]:
        raw = json.dumps(body).encode()
        now = datetime.fromtimestamp(time.time(), UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(hook["secret"]).sign(msg_id, now, raw.decode()),
            "content-type": "application/json",
        }
        return raw, headers

    raw, headers = signed({"lead_id": str(lead), "stage": "rejected", "reason": "spam",
                           "recycle": True}, "msg_bad")  # fmt: skip
    bad = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert bad.status_code == 422, bad.text
    assert "recycle" in bad.text
    outcome = {"lead_id": str(lead), "stage": "rejected", "reason": "no_contact"}
    wrapped = {"type": "outcome", "timestamp": "2026-12-07T09:00:00Z", "data": outcome}
    raw, headers = signed(wrapped, "msg_1")
    first = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert first.status_code == 202, first.text
    again = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert again.json() == {**first.json(), "duplicate": True}
    [event] = await published(rt)
    assert (event.stage, event.reason, event.recycle) == ("rejected", "no_contact", True)


async def test_a_recycled_lead_assigned_again_can_be_rejected_again(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    lead = uuid.uuid4()
    await deliver(rt, assigned(lead, RITA, at(minutes=5)))
    first = await reject(
        client, ADMIN, lead, reason="not_ready", occurred_at=at(hours=1).isoformat()
    )
    assert first.json()["duplicate"] is False
    # The same rejection sent again (no external_id): the first answer, nothing published.
    again = await reject(
        client, ADMIN, lead, reason="not_ready", occurred_at=at(hours=1).isoformat()
    )
    assert again.json() == {**first.json(), "duplicate": True}
    # Recycled, qualified again on a new touch and routed to Sam: a new cycle, a new verdict
    # (assigned after the rejection was stored: sales-assignment's clock, not the sender's).
    await deliver(rt, assigned(lead, SAM, datetime.now(UTC)))
    second = await reject(client, ADMIN, lead, reason="not_a_fit")
    assert second.status_code == 202, second.text
    assert second.json()["duplicate"] is False
    assert [(e.reason, e.recycle) for e in await published(rt)] == [
        ("not_ready", True),
        ("not_a_fit", False),
    ]


async def test_a_backdated_rejection_sent_twice_is_recorded_and_published_once(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    # Assigned now; the sales tool says the rejection happened 5 minutes ago, before the
    # assignment it rejects arrived: still the same cycle, so the repeat is a duplicate.
    lead = uuid.uuid4()
    await deliver(rt, assigned(lead, RITA, datetime.now(UTC)))
    when = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    first = await reject(client, ADMIN, lead, reason="not_a_fit", occurred_at=when)
    again = await reject(client, ADMIN, lead, reason="not_a_fit", occurred_at=when)
    assert first.json()["duplicate"] is False
    assert again.json() == {**first.json(), "duplicate": True}
    assert [e.reason for e in await published(rt)] == ["not_a_fit"]
    async with rt.sessions() as s:
        rows = list(await s.scalars(select(Outcome.outcome_id).where(Outcome.lead_id == lead)))
    assert rows == [uuid.UUID(first.json()["outcome_id"])]
