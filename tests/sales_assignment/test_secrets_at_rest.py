"""Webhook signing secrets are stored sealed: nowhere in the database in the clear, and
deliveries are still signed with them (both DBs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from assignment_kit import add_rep, handle, make_assigner, qualified
from standardwebhooks import Webhook

from leadflow.migrations import upgrade
from leadflow.secretbox import SecretBox
from leadflow.webhooks import new_secret
from sales_assignment import admin
from sales_assignment.app import MIGRATIONS
from sales_assignment.assigning import Assigner
from sales_assignment.outbound import DeliveryWorker
from support.db_text import SECRETS_KEY as KEY
from support.db_text import database_text, insert_row, secret_traces
from support.receiver import Receiver

pytestmark = pytest.mark.postgres

# webhook_endpoints as revision 0005 left it (its secrets stored bare), to write old rows.
ENDPOINTS = sa.table(
    "webhook_endpoints",
    *(sa.column(n, t) for n, t in (("id", sa.Uuid()), ("url", sa.String()))),
    *(sa.column(n, sa.JSON()) for n in ("secrets", "event_types")),
    sa.column("enabled", sa.Boolean()),
    sa.column("consecutive_failures", sa.Integer()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


@pytest.fixture
async def a(database_url: str) -> AsyncIterator[Assigner]:
    assigner = await make_assigner(database_url, secrets_key=KEY, webhook_secret_grace_seconds=60)
    yield assigner
    await assigner.rt.engine.dispose()


async def _delivered_and_verified(a: Assigner, receiver: Receiver, secret: str) -> None:
    worker = DeliveryWorker(a.rt, a.settings, a.clock, doorbell=a.doorbell)
    try:
        await handle(a, qualified())
        assert await worker.deliver_due() == 1
    finally:
        await worker.close()
    got = receiver.snapshot()[-1]
    Webhook(secret).verify(got.body, got.headers)  # raises unless signed with it


async def test_secrets_are_stored_sealed_and_still_sign(
    a: Assigner, receiver: Receiver, database_url: str
) -> None:
    await add_rep(a, "Ann")
    endpoint, first = await admin.create_endpoint(a, receiver.url, ["lead.assigned"])
    second, _ = await admin.rotate_secret(a, endpoint.id)
    stored = await database_text(database_url)
    for secret in (first, second):
        for trace in secret_traces(secret):
            assert trace not in stored
    assert "lfenc1:" in stored
    await _delivered_and_verified(a, receiver, second)


async def test_the_migration_seals_secrets_stored_bare(
    database_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0005")
    bare = new_secret()
    await insert_row(
        database_url,
        ENDPOINTS,
        id=uuid.uuid4(),
        url=receiver.url,
        secrets=[bare],
        event_types=["lead.assigned"],
        enabled=True,
        consecutive_failures=0,
        created_at=datetime.now(UTC),
    )
    assert bare in await database_text(database_url)

    monkeypatch.setenv("LEADFLOW_SECRETS_KEY", KEY)  # as the service's environment has it
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    stored = await database_text(database_url)
    for trace in secret_traces(bare):
        assert trace not in stored

    a = await make_assigner(database_url, secrets_key=KEY)
    try:
        [row] = await admin.list_endpoints(a)
        assert all(SecretBox.is_sealed(s) for s in row.secrets)
        await add_rep(a, "Ann")
        await _delivered_and_verified(a, receiver, bare)
    finally:
        await a.rt.engine.dispose()


async def test_the_migration_refuses_to_guess_a_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, "0005")
    await insert_row(
        database_url,
        ENDPOINTS,
        id=uuid.uuid4(),
        url="http://x/",
        secrets=[new_secret()],
        event_types=[],
        enabled=True,
        consecutive_failures=0,
        created_at=datetime.now(UTC),
    )
    monkeypatch.delenv("LEADFLOW_SECRETS_KEY", raising=False)
    monkeypatch.delenv("LEADFLOW_ADMIN_TOKEN", raising=False)
    with pytest.raises(RuntimeError, match="LEADFLOW_SECRETS_KEY"):
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
    # prod services seal with LEADFLOW_SECRETS_KEY only: the admin token is no key there
    monkeypatch.setenv("LEADFLOW_ENV", "prod")
    monkeypatch.setenv("LEADFLOW_ADMIN_TOKEN", "Zq8x-Lp3vNc7tWb2yHd5kRm4jQs9Xe2Ua7")
    with pytest.raises(RuntimeError, match="LEADFLOW_SECRETS_KEY"):
        await asyncio.to_thread(upgrade, MIGRATIONS, database_url)
