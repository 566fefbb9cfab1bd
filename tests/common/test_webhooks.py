"""Standard Webhooks signatures, checked by the reference `standardwebhooks` package."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from leadflow import webhooks


def test_our_signature_verifies_with_the_standardwebhooks_package() -> None:
    secret = webhooks.new_secret()
    body = json.dumps({"type": "lead.assigned", "data": {"x": 1}}).encode()
    headers = webhooks.headers_for([secret], "msg_1", body)
    payload = Webhook(secret).verify(body, headers)
    assert payload == {"type": "lead.assigned", "data": {"x": 1}}


def test_during_rotation_either_secret_verifies() -> None:
    old, new = webhooks.new_secret(), webhooks.new_secret()
    body = b'{"a":1}'
    headers = webhooks.headers_for([old, new], "msg_2", body)
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_a_tampered_body_fails_verification() -> None:
    secret = webhooks.new_secret()
    headers = webhooks.headers_for([secret], "msg_3", b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(secret, b'{"a":2}', headers)


def test_we_verify_what_the_package_signs() -> None:
    secret = webhooks.new_secret()
    now = time.time()
    body = b'{"outcome":"won"}'
    sig = Webhook(secret).sign("msg_4", _dt(now), body.decode())
    headers = {"webhook-id": "msg_4", "webhook-timestamp": str(int(now)), "webhook-signature": sig}
    webhooks.verify(secret, body, headers, now=now)


def test_an_old_timestamp_is_refused() -> None:
    secret = webhooks.new_secret()
    headers = webhooks.headers_for([secret], "msg_5", b"{}", now=time.time() - 3600)
    with pytest.raises(webhooks.InvalidSignature, match="tolerance"):
        webhooks.verify(secret, b"{}", headers)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(int(ts), UTC)
