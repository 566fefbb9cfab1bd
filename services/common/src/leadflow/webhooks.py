"""Standard Webhooks: secrets, signing and verification (`webhook-id/-timestamp/-signature`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    """The webhook's signature, timestamp or headers do not check out."""


def new_secret(n_bytes: int = 32) -> str:
    """`whsec_` + base64 of random bytes (the spec allows 24–64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(n_bytes)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """Space-separated signatures, one per secret (two while a secret is being rotated)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def headers_for(
    secrets_: Iterable[str], msg_id: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for one delivery attempt."""
    ts = int(now if now is not None else time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature_header(secrets_, msg_id, ts, body),
        "content-type": "application/json",
    }


def verify(
    secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> None:
    """Raise InvalidSignature unless one `v1` signature matches and the time is within ±5 min."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lower["webhook-id"]
        stamp = lower["webhook-timestamp"]
        given = lower["webhook-signature"].split()
    except KeyError as exc:
        raise InvalidSignature("missing webhook headers") from exc
    # ASCII digits a Unix time needs, no more: int() also reads other scripts' digits and
    # numbers no float holds (comparing one with the clock raised OverflowError).
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise InvalidSignature("malformed webhook-timestamp")
    ts = int(stamp)
    current = now if now is not None else time.time()
    if abs(current - ts) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp outside the tolerance")
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
    expected = sign(secret, msg_id, ts, body).encode()
    if not any(
        hmac.compare_digest(expected, sig.encode()) for sig in given if sig.startswith("v1,")
    ):
        raise InvalidSignature("no matching signature")
