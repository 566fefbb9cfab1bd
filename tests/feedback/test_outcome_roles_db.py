"""Who may post which outcome: sales tools without `reopen`, reps for their own leads only,
bounded amounts for everyone, and `external_id`s unique per sender, not across them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from feedback_events import ADMIN, RITA, SAM, assigned, at, deliver, env
from sqlalchemy.ext.asyncio import create_async_engine
from standardwebhooks import Webhook

from feedback import outcomes
from feedback.app import MIGRATIONS
from feedback.models import Outcome
from leadflow.events import LeadOutcome
from leadflow.migrations import upgrade
from leadflow.outbox import outbox_table
from leadflow.service import Runtime
from support.db_text import insert_row

pytestmark = pytest.mark.postgres

LEAD = uuid.UUID(int=0xA11CE)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def integration(client: httpx.AsyncClient, kind: str = "token") -> dict[str, Any]:
    made = await client.post("/v1/integrations", json={"name": "CRM", "kind": kind}, headers=ADMIN)
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def token_for(client: httpx.AsyncClient, role: str, subject: str | None = None) -> str:
    issued = await client.post("/v1/tokens", json={"role": role, "subject": subject}, headers=ADMIN)
    assert issued.status_code == 201, issued.text
    token: str = issued.json()["token"]
    return token


async def post(
    client: httpx.AsyncClient, token: str | dict[str, str], **body: Any
) -> httpx.Response:
    headers = bearer(token) if isinstance(token, str) else token
    return await client.post("/v1/outcomes", json={"lead_id": str(LEAD), **body}, headers=headers)


async def test_a_sales_tool_may_post_outcomes_but_not_reopen(client: httpx.AsyncClient) -> None:
    tool = (await integration(client))["token"]
    assert (await post(client, tool, stage="lost")).status_code == 202
    refused = await post(client, tool, stage="won", reopen=True)
    assert refused.status_code == 403, refused.text
    assert "reopen" in refused.json()["detail"]
    signed_tool = await token_for(client, "sales_tool", "HubSpot")
    assert (await post(client, signed_tool, stage="won", reopen=True)).status_code == 403
    # The admin may.
    assert (await post(client, ADMIN, stage="won", reopen=True)).status_code == 202


async def test_a_webhook_integration_may_not_reopen_either(client: httpx.AsyncClient) -> None:
    hook = await integration(client, "webhook")
    body = json.dumps({"lead_id": str(LEAD), "stage": "won", "reopen": True})
    msg_id, now = "msg_reopen", datetime.fromtimestamp(time.time(), UTC)
    signature = Webhook(hook["secret"]).sign(msg_id, now, body)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": signature, "content-type": "application/json"}  # fmt: skip
    refused = await client.post(hook["webhook_path"], content=body, headers=headers)
    assert refused.status_code == 403, refused.text


@pytest.mark.parametrize(
    "amount",
    ["0", "-5", "1000000000000", "10000000000000000", "12.345", "NaN", "Infinity", "1e400"],
)
async def test_an_outcome_amount_out_of_bounds_is_a_422_naming_it_for_every_caller(
    client: httpx.AsyncClient, amount: str
) -> None:
    tool = (await integration(client))["token"]
    for caller in (ADMIN, tool):
        r = await post(client, caller, stage="won", amount=amount, currency="EUR")
        assert r.status_code == 422, (amount, r.status_code)
        assert [e["field"] for e in r.json()["errors"]] == ["amount"]


async def test_the_largest_amount_with_cents_is_taken(client: httpx.AsyncClient) -> None:
    r = await post(client, ADMIN, stage="won", amount="999999999999.99", currency="EUR")
    assert r.status_code == 202, r.text


async def test_two_crms_may_use_the_same_external_id(client: httpx.AsyncClient) -> None:
    first, second = (await integration(client))["token"], (await integration(client))["token"]
    other_lead = str(uuid.uuid4())
    a = await post(client, first, stage="sql", external_id="deal-1")
    b = await client.post(
        "/v1/outcomes",
        json={"lead_id": other_lead, "stage": "sql", "external_id": "deal-1"},
        headers=bearer(second),
    )
    assert (a.status_code, b.status_code) == (202, 202), b.text
    assert a.json()["outcome_id"] != b.json()["outcome_id"]
    # Within one CRM the id still names one outcome: a repeat is the first answer, another
    # lead under the same id a conflict.
    again = await post(client, first, stage="sql", external_id="deal-1")
    assert again.json() == {**a.json(), "duplicate": True}
    clash = await client.post(
        "/v1/outcomes",
        json={"lead_id": other_lead, "stage": "sql", "external_id": "deal-1"},
        headers=bearer(first),
    )
    assert clash.status_code == 409


async def test_a_rep_posts_outcomes_only_for_leads_assigned_to_them_now(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    rita = await token_for(client, "rep", str(RITA.rep_id))
    sam = await token_for(client, "rep", str(SAM.rep_id).upper())  # a UUID however written
    # Not assigned to anyone yet (as far as feedback knows): nobody's lead.
    assert (await post(client, rita, stage="contacted")).status_code == 403
    await deliver(rt, assigned(LEAD, RITA, at(minutes=5)))
    assert (await post(client, rita, stage="contacted")).status_code == 202
    refused = await post(client, sam, stage="sql")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    # Reassigned to Sam: now his, no longer Rita's.
    await deliver(rt, assigned(LEAD, SAM, at(minutes=30), attempt=2))
    assert (await post(client, rita, stage="sql")).status_code == 403
    assert (await post(client, sam, stage="sql")).status_code == 202
    assert (await post(client, sam, stage="lost", reopen=True)).status_code == 403
    # An analyst reads, never writes.
    analyst = await token_for(client, "analyst")
    assert (await post(client, analyst, stage="won")).status_code == 403


async def test_a_recycled_lead_assigned_again_is_its_new_reps_and_no_longer_the_old_ones(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    rita = await token_for(client, "rep", str(RITA.rep_id))
    sam = await token_for(client, "rep", str(SAM.rep_id))
    await deliver(rt, assigned(LEAD, RITA, at(minutes=5)))
    await deliver(rt, assigned(LEAD, SAM, at(minutes=30), attempt=2))  # Rita missed the SLA
    rejected = await post(client, sam, stage="rejected", reason="not_ready")  # recycled
    assert rejected.status_code == 202, rejected.text
    recycled = LeadOutcome(lead_id=LEAD, stage="rejected", occurred_at=at(hours=1),
                           reason="not_ready", recycle=True)  # fmt: skip
    await deliver(rt, env(recycled))  # as feedback consumes its own event back
    # It qualified again on a later touch; its new cycle starts at attempt 1, with Rita.
    await deliver(rt, assigned(LEAD, RITA, at(days=3), attempt=1))
    assert (await post(client, sam, stage="won")).status_code == 403
    assert (await post(client, rita, stage="won")).status_code == 202


@pytest.mark.parametrize("reason", ["not_a_fit", "not_ready"])  # not recycled, recycled
async def test_a_rejected_lead_is_no_reps_until_it_is_assigned_again(
    rt: Runtime, client: httpx.AsyncClient, reason: str
) -> None:
    rita = await token_for(client, "rep", str(RITA.rep_id))
    sam = await token_for(client, "rep", str(SAM.rep_id))
    await deliver(rt, assigned(LEAD, RITA, at(minutes=5)))
    rejected = await post(client, rita, stage="rejected", reason=reason)
    assert rejected.status_code == 202, rejected.text
    own = LeadOutcome(lead_id=LEAD, stage="rejected", occurred_at=at(hours=1), reason=reason,
                      recycle=reason == "not_ready")  # fmt: skip
    await deliver(rt, env(own))  # as feedback consumes its own event back
    # The rejection closed the assignment (contract: a rep posts for the leads assigned to
    # them): the rep who rejected it posts nothing more on it.
    refused = await post(client, rita, stage="contacted")
    assert refused.status_code == 403, refused.text
    # A retry of the rejection is harmless as ever: the first answer, nothing new published.
    retried = await post(client, rita, stage="rejected", reason=reason)
    assert retried.json() == {**rejected.json(), "duplicate": True}
    # Nor does the rep of a re-route made before sales-assignment saw the rejection.
    await deliver(rt, assigned(LEAD, SAM, at(minutes=30), attempt=2))
    assert (await post(client, sam, stage="contacted")).status_code == 403
    assert (await post(client, sam, stage="rejected", reason=reason)).status_code == 403
    assert (await post(client, rita, stage="contacted")).status_code == 403
    # The admin still may.
    assert (await post(client, ADMIN, stage="contacted")).status_code == 202


async def staged(rt: Runtime) -> list[str]:
    """The topics of the events staged in the outbox, in order."""
    async with rt.engine.connect() as conn:
        return list(await conn.scalars(sa.select(outbox_table.c.topic).order_by("id")))


async def test_a_retry_that_stops_being_one_before_it_is_stored_is_refused(
    rt: Runtime, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    rita = await token_for(client, "rep", str(RITA.rep_id))
    await deliver(rt, assigned(LEAD, RITA, at(minutes=5)))
    rejected = await post(client, rita, stage="rejected", reason="not_ready")  # recycled
    assert rejected.status_code == 202, rejected.text
    own = LeadOutcome(lead_id=LEAD, stage="rejected", occurred_at=at(hours=1),
                      reason="not_ready", recycle=True)  # fmt: skip
    await deliver(rt, env(own))  # as feedback consumes its own event back
    looked = outcomes.repeated

    async def then_reassigned(*args: Any) -> bool:
        # Right after the retry check read the lead, its next cycle is assigned to Sam.
        found = await looked(*args)
        await deliver(rt, assigned(LEAD, SAM, datetime.now(UTC) + timedelta(seconds=1)))
        return found

    monkeypatch.setattr(outcomes, "repeated", then_reassigned)
    before = await staged(rt)
    # Rita's "retry" is now a new rejection of Sam's lead: refused, nothing stored or sent.
    raced = await post(client, rita, stage="rejected", reason="not_ready")
    assert raced.status_code == 403, raced.text
    async with rt.engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).select_from(Outcome))
    assert (stored, await staged(rt)) == (1, before)


async def test_outcomes_reported_before_the_upgrade_keep_their_integrations_id_space(
    database_url: str,
) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0003")
    integration_id, now = uuid.uuid4(), datetime.now(UTC)
    ts = sa.DateTime(timezone=True)
    outcomes = sa.table(
        "outcomes",
        sa.column("outcome_id", sa.Uuid()),
        sa.column("lead_id", sa.Uuid()),
        sa.column("integration_id", sa.Uuid()),
        sa.column("stage", sa.String()),
        sa.column("occurred_at", ts),
        sa.column("created_at", ts),
        sa.column("reopen", sa.Boolean()),
        sa.column("ce_id", sa.String()),
        sa.column("external_id", sa.String()),
    )
    for external_id, by in (("d-1", integration_id), ("d-1x", None)):
        await insert_row(
            database_url,
            outcomes,
            outcome_id=uuid.uuid4(),
            lead_id=LEAD,
            integration_id=by,
            stage="won",
            occurred_at=now,
            created_at=now,
            reopen=False,
            ce_id=str(uuid.uuid4()),
            external_id=external_id,
        )
    engine = create_async_engine(database_url)
    try:
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
        async with engine.connect() as conn:
            found = await conn.execute(sa.text("SELECT external_id, external_scope FROM outcomes"))
            scopes = {row[0]: row[1] for row in found}
    finally:
        await engine.dispose()
    assert scopes == {"d-1": str(integration_id), "d-1x": ""}
