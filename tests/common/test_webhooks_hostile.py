"""Standard Webhooks verification refuses odd headers as InvalidSignature, never crashes."""

from __future__ import annotations

import time

import pytest

from leadflow import webhooks

SECRET = webhooks.new_secret()
BODY = b'{"a":1}'


def good_headers() -> dict[str, str]:
    return webhooks.headers_for([SECRET], "msg_1", BODY)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-signature", "v1,é"),  # as Starlette hands a UTF-8 header over (latin-1)
        ("webhook-signature", "v1,\u202eZm9y"),
        ("webhook-signature", "v1,Ã©" + "A" * 40),
        ("webhook-id", "msg_é"),
        ("webhook-timestamp", "9" * 400),  # an int beyond any float
        ("webhook-timestamp", "-" + "9" * 400),
        ("webhook-timestamp", "١٧٠٠٠٠٠٠٠٠"),  # Arabic-Indic digits: int() reads them
        ("webhook-timestamp", " 1700000000 "),
        ("webhook-timestamp", "1_700_000_000"),
    ],
)
def test_an_odd_header_is_an_invalid_signature(name: str, value: str) -> None:
    headers = {**good_headers(), name: value}
    with pytest.raises(webhooks.InvalidSignature):
        webhooks.verify(SECRET, BODY, headers)


def test_a_non_ascii_signature_beside_the_right_one_still_verifies() -> None:
    headers = good_headers()
    headers["webhook-signature"] = "v1,é " + headers["webhook-signature"]
    webhooks.verify(SECRET, BODY, headers)


def test_the_right_headers_still_verify() -> None:
    webhooks.verify(SECRET, BODY, good_headers(), now=time.time())
