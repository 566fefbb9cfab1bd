"""Signed access tokens (`lf_at_…`), verified by every service without a lookup, and the
in-memory set of revoked ones.

A token is `lf_at_<base64url(json {tid, role, sub, exp})>.<base64url(HMAC-SHA256)>`, signed
with `LEADFLOW_TOKEN_SECRET` (in dev, without one, a key derived from the admin token), so
any service holding the same key accepts a token another service issued.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from leadflow.settings import Settings

PREFIX = "lf_at_"
# A token longer than this is not one of ours (nothing is decoded past it).
MAX_TOKEN_CHARS = 2048

# Every role a token may carry, defined once here (access.py re-exports both names).
Role = Literal["admin", "analyst", "sales_tool", "rep"]
ROLES: tuple[Role, ...] = get_args(Role)


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    token_id: str
    role: Role
    subject: str | None
    expires_at: int  # epoch seconds


def as_uuid(value: object) -> uuid.UUID | None:
    """`value` as a UUID (a rep_id), or None when it is none or not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def signing_key(settings: Settings) -> bytes:
    """The key tokens are signed with: the token secret, or one derived from the admin token."""
    secret = settings.token_secret
    if secret is not None and secret.get_secret_value():
        return secret.get_secret_value().encode()
    admin = settings.admin_token.get_secret_value().encode()
    return hmac.new(b"leadflow-token-signing", admin, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Strict: only the unpadded url-safe spelling `_b64` writes is read (the decoder alone
    skips stray characters and ignores unused bits, so one signature had many spellings)."""
    data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    if _b64(data) != text:
        raise ValueError("not the canonical spelling")
    return data


def _mac(key: bytes, body: str) -> bytes:
    return hmac.new(key, body.encode(), hashlib.sha256).digest()


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(12)


def mint_token(key: bytes, claims: Claims) -> str:
    """The token text for `claims` (shown once; only its id is ever stored or published)."""
    payload = {"tid": claims.token_id, "role": claims.role, "sub": claims.subject}
    payload["exp"] = claims.expires_at  # type: ignore[assignment]
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{PREFIX}{body}.{_b64(_mac(key, body))}"


def verify_token(token: str, key: bytes, *, now: float) -> Claims | None:
    """The claims of a well-signed, unexpired token; None for anything else."""
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_CHARS:
        return None
    body, dot, signature = token[len(PREFIX) :].partition(".")
    if not dot:
        return None
    try:
        given = _unb64(signature)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(given, _mac(key, body)):
        return None
    try:
        payload: Any = json.loads(_unb64(body))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    tid, role, sub, exp = (payload.get(k) for k in ("tid", "role", "sub", "exp"))
    if not isinstance(tid, str) or role not in ROLES or not isinstance(exp, int):
        return None
    if sub is not None and not isinstance(sub, str):
        return None
    if exp <= now:
        return None
    return Claims(tid, role, sub, exp)


class Catchup:
    """Whether this process knows every revocation, so that issued tokens may be checked.

    The rule: the service's revoked table is loaded, and then either no follower runs here
    (an app driven in process, without its lifespan: the table is all there is), or the
    follower has read `leadflow.tokens` up to the end offsets it saw when it connected, or
    Kafka is away (then nothing newer can reach any replica: the table, kept by every
    replica's follower and every DELETE, holds what this replica would know had it kept
    running through the outage)."""

    def __init__(self) -> None:
        self.loaded = False  # the revoked table was read into the set
        self.following = False  # a follower was started in this process
        self.caught_up = False  # it read up to the end offsets it saw at its start
        self.kafka_away = False  # its last attempt to reach Kafka failed

    def knows_revocations(self) -> bool:
        if not self.loaded:
            return False
        return not self.following or self.caught_up or self.kafka_away


class RevokedTokens:
    """Token ids refused in this process, each until its token would have expired anyway."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._until: dict[str, float] = {}
        self._clock = clock
        self._next_prune = 0.0

    def add(self, token_id: str, expires_at: float) -> None:
        self._until[token_id] = max(expires_at, self._until.get(token_id, 0.0))
        self._prune()

    def has(self, token_id: str) -> bool:
        return token_id in self._until

    def __len__(self) -> int:
        return len(self._until)

    def _prune(self) -> None:
        now = self._clock()
        if now < self._next_prune:
            return
        self._next_prune = now + 60
        for tid in [t for t, until in self._until.items() if until <= now]:
            del self._until[tid]
