"""A signed-webhook post with odd headers or an odd body is refused with a 4xx, never a 500."""

from __future__ import annotations

import time

import httpx
import pytest
from feedback_events import ADMIN

from leadflow import webhooks

pytestmark = pytest.mark.postgres


async def hook(client: httpx.AsyncClient) -> tuple[str, str]:
    r = await client.post("/v1/integrations", json={"name": "crm", "kind": "webhook"},
                          headers=ADMIN)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["secret"], r.json()["webhook_path"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-signature", "v1,é".encode()),
        ("webhook-signature", "v1,\u202e\u05d0".encode()),
        ("webhook-id", "msg_é".encode()),
        ("webhook-timestamp", b"9" * 400),
    ],
)
async def test_an_odd_webhook_header_is_a_401(
    client: httpx.AsyncClient, name: str, value: bytes
) -> None:
    secret, path = await hook(client)
    body = b'{"lead_id": "00000000-0000-4000-8000-000000000001", "stage": "sql"}'
    headers: dict[str, str | bytes] = {
        **webhooks.headers_for([secret], "msg_1", body, now=time.time()),
        name: value,
    }
    r = await client.post(path, content=body, headers=headers)
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_signed_body_nested_100000_deep_is_a_422(client: httpx.AsyncClient) -> None:
    secret, path = await hook(client)
    body = b"[" * 100_000 + b"]" * 100_000
    headers = webhooks.headers_for([secret], "msg_2", body, now=time.time())
    r = await client.post(path, content=body, headers=headers)
    assert r.status_code == 422, r.text
