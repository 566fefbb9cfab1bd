"""Inbound webhook secrets (whsec_) are stored sealed, and still verify what a tool signs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from test_integrations_db import LEAD, create, signed

from feedback.app import MIGRATIONS
from leadflow.migrations import upgrade
from leadflow.service import Runtime
from leadflow.webhooks import new_secret
from support.db_text import SECRETS_KEY, database_text, insert_row, secret_traces

pytestmark = pytest.mark.postgres


async def test_a_webhook_secret_is_stored_sealed_and_verifies_signed_posts(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    hook = await create(client, "webhook", "HubSpot")
    stored = await database_text(rt.settings.database_url)
    for trace in secret_traces(hook["secret"]):
        assert trace not in stored
    raw, headers = signed(hook["secret"], {"lead_id": LEAD, "stage": "contacted"}, "m1")
    answer = await client.post(hook["webhook_path"], content=raw, headers=headers)
    assert answer.status_code == 202, answer.text


async def test_the_migration_seals_a_secret_stored_bare(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0004")
    bare = new_secret()
    integrations = sa.table(
        "integrations",
        sa.column("integration_id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("name", "kind", "hint", "secret")),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    await insert_row(
        database_url,
        integrations,
        integration_id=uuid.uuid4(),
        name="crm",
        kind="webhook",
        hint="whsec_…",
        secret=bare,
        created_at=datetime.now(UTC),
    )
    monkeypatch.setenv("LEADFLOW_SECRETS_KEY", SECRETS_KEY)
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    stored = await database_text(database_url)
    for trace in secret_traces(bare):
        assert trace not in stored
    assert "lfenc1:" in stored
