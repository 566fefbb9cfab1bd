"""Sales-tool integrations: tokens for POST /v1/outcomes, and signed inbound webhooks.

Webhooks are signed with the `standardwebhooks` package, as a sales tool would do it.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from feedback_events import ADMIN, unsent
from sqlalchemy import select
from standardwebhooks import Webhook

from feedback.models import Base, Integration, Outcome
from leadflow.events import LeadOutcome
from leadflow.service import Runtime

pytestmark = pytest.mark.postgres

LEAD = str(uuid.UUID(int=0x5A1E))


async def create(client: httpx.AsyncClient, kind: str, name: str = "CRM") -> dict[str, Any]:
    response = await client.post("/v1/integrations", json={"name": name, "kind": kind},
                                 headers=ADMIN)  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def signed(
    secret: str, body: dict[str, Any] | bytes, msg_id: str, *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """What a sales tool sends: the body and the three Standard Webhooks headers."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    when = datetime.fromtimestamp(at if at is not None else time.time(), UTC)
    signature = Webhook(secret).sign(msg_id, when, raw.decode())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return raw, headers


async def test_the_migrations_match_the_models(rt: Runtime) -> None:
    """feedback's own tables as migrations 0001 and 0002 build them (kernel tables aside)."""

    def ours(change: Any) -> bool:
        if isinstance(change, list):  # modify_* changes come as a list of tuples
            return any(ours(c) for c in change)
        for part in change[1:]:
            table = getattr(part, "table", part) if not isinstance(part, str) else None
            name = getattr(table, "name", part if isinstance(part, str) else None)
            if name in Base.metadata.tables:
                return True
        return False

    def diff(conn: Any) -> list[Any]:
        context = MigrationContext.configure(conn)
        return [c for c in compare_metadata(context, Base.metadata) if ours(c)]

    async with rt.engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    assert {"integrations", "webhook_receipts"} <= set(Base.metadata.tables)


async def test_a_token_is_shown_once_stored_hashed_and_reports_outcomes(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    created = await create(client, "token", "Pipedrive")
    token = created["token"]
    assert token.startswith("lf_it_")
    assert created["secret"] is None
    assert created["hint"] == token[:10] + "…"
    async with rt.sessions() as s:
        row = await s.get(Integration, uuid.UUID(created["integration_id"]))
    assert row is not None
    assert token not in (row.token_hash, row.hint, row.secret)
    listed = (await client.get("/v1/integrations", headers=ADMIN)).json()
    assert [i["name"] for i in listed] == ["Pipedrive"]
    assert listed[0]["active"] is True
    assert not {"token", "secret"} & set(listed[0])

    bearer = {"Authorization": f"Bearer {token}"}
    response = await client.post("/v1/outcomes", json={"lead_id": LEAD, "stage": "sql"},
                                 headers=bearer)  # fmt: skip
    assert response.status_code == 202, response.text
    async with rt.sessions() as s:
        outcome = (await s.scalars(select(Outcome))).one()
    assert str(outcome.integration_id) == created["integration_id"]
    # The token is for outcomes only.
    assert (await client.get("/v1/integrations", headers=bearer)).status_code == 403

    gone = await client.delete(f"/v1/integrations/{created['integration_id']}", headers=ADMIN)
    assert gone.status_code == 204
    refused = await client.post("/v1/outcomes", json={"lead_id": LEAD, "stage": "won"},
                                headers=bearer)  # fmt: skip
    assert refused.status_code == 401  # a revoked token is an unknown one
    listed = (await client.get("/v1/integrations", headers=ADMIN)).json()
    assert listed[0]["active"] is False
    assert listed[0]["revoked_at"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer lf_it_made-up"}, 401),
     ({"Authorization": "Bearer wrong"}, 401)],
)  # fmt: skip
async def test_outcomes_need_a_known_token(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    response = await client.post("/v1/outcomes", json={"lead_id": LEAD, "stage": "sql"},
                                 headers=headers)  # fmt: skip
    assert response.status_code == status


async def test_integrations_are_admin_only_and_unknown_ones_are_404(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/v1/integrations", json={"name": "x"})).status_code == 401
    missing = await client.delete(f"/v1/integrations/{uuid.uuid4()}", headers=ADMIN)
    assert missing.status_code == 404
    bad = await client.post("/v1/integrations", json={"name": "", "kind": "fax"}, headers=ADMIN)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "kind"}


async def test_a_signed_webhook_is_processed_like_post_outcomes(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    hook = await create(client, "webhook", "HubSpot")
    secret, path = hook["secret"], hook["webhook_path"]
    assert secret.startswith("whsec_")
    assert hook["token"] is None
    body = {"lead_id": LEAD, "stage": "won", "amount": "900", "currency": "eur",
            "external_id": "hs-1"}  # fmt: skip
    raw, headers = signed(secret, body, "msg_1")
    first = await client.post(path, content=raw, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["duplicate"] is False
    # A redelivery (same webhook-id) and the same outcome sent anew: the first answer.
    again = await client.post(path, content=raw, headers=headers)
    assert again.json() == {**first.json(), "duplicate": True}
    raw_again, headers_again = signed(secret, body, "msg_1b")
    same = await client.post(path, content=raw_again, headers=headers_again)
    assert same.json() == {**first.json(), "duplicate": True}
    [(topic, _, envelope)] = await unsent(rt)
    event = envelope.data
    assert isinstance(event, LeadOutcome)
    assert (topic, event.stage, event.amount) == ("leads.outcomes", "won", Decimal(900))
    # The stage rules are the same too: lost after won is a conflict.
    raw, headers = signed(secret, {"lead_id": LEAD, "stage": "lost"}, "msg_2")
    assert (await client.post(path, content=raw, headers=headers)).status_code == 409
    # A Standard Webhooks payload around the outcome is accepted as well.
    wrapped = {"type": "outcome", "timestamp": "2026-03-02T09:00:00Z",
               "data": {"lead_id": LEAD, "stage": "contacted"}}  # fmt: skip
    raw, headers = signed(secret, wrapped, "msg_3")
    assert (await client.post(path, content=raw, headers=headers)).status_code == 202
    assert len(await unsent(rt)) == 2


async def test_a_tampered_stale_or_unsigned_webhook_is_refused(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    hook = await create(client, "webhook")
    secret, path = hook["secret"], hook["webhook_path"]
    body = {"lead_id": LEAD, "stage": "sql"}
    raw, headers = signed(secret, body, "msg_1")
    tampered = raw.replace(b"sql", b"won")
    stale_raw, stale = signed(secret, body, "msg_2", at=time.time() - 600)
    other_raw, other = signed(
        "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", body, "msg_3"
    )
    for content, sent in (
        (tampered, headers), (stale_raw, stale), (other_raw, other),
        (raw, {"content-type": "application/json"}),
        (raw, {**headers, "webhook-timestamp": "soon"}),
    ):  # fmt: skip
        response = await client.post(path, content=content, headers=sent)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
    # Right signature, wrong integration (a token one, an unknown one, a revoked one).
    token = await create(client, "token")
    for target in (f"/v1/integrations/{token['integration_id']}/webhook",
                   f"/v1/integrations/{uuid.uuid4()}/webhook"):  # fmt: skip
        assert (await client.post(target, content=raw, headers=headers)).status_code == 401
    await client.delete(f"/v1/integrations/{hook['integration_id']}", headers=ADMIN)
    assert (await client.post(path, content=raw, headers=headers)).status_code == 401
    assert await unsent(rt) == []


async def test_a_signed_but_invalid_body_names_the_bad_fields(
    client: httpx.AsyncClient,
) -> None:
    hook = await create(client, "webhook")
    raw, headers = signed(hook["secret"], {"lead_id": "nope", "stage": "maybe"}, "msg_1")
    response = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"lead_id", "stage"}
    raw, headers = signed(hook["secret"], b"[1", "msg_2")
    not_json = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert not_json.status_code == 422
    assert not_json.json()["errors"][0]["field"] == "body"
