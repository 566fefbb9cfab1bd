"""The dashboard's logins, kept on the server: the cookie is a random id, a row says who.

Logging out deletes the row, so the old cookie is refused afterwards; only the cookie's
SHA-256 is stored, so reading the table opens no session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime

from feedback import repo
from feedback.models import DashboardSession
from leadflow.access import Principal
from leadflow.access_tokens import signing_key
from leadflow.service import Runtime
from leadflow.settings import Settings

SESSION_COOKIE = "lf_feedback_session"
# What `secrets.token_urlsafe(32)` makes; anything else is not a session of ours.
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


def session_hash(value: str | None) -> str | None:
    """The stored key of a well-formed cookie value, else None (never raises)."""
    if value is None or not _COOKIE_VALUE.fullmatch(value):
        return None
    return hashlib.sha256(value.encode()).hexdigest()


def bootstrap_fingerprint(admin_token: str) -> str:
    """Kept with a session opened by the bootstrap admin token: rotating the token ends it."""
    return hmac.new(b"feedback-dashboard", admin_token.encode(), hashlib.sha256).hexdigest()


def credential_fingerprint(settings: Settings, source: str) -> str | None:
    """What verified a login of this source, as a keyed hash kept with its session and
    compared on every use: the admin token, the token secret, or the OIDC issuer, audience
    and JWKS URL. A change of it ends the session. None: nothing here verifies the source."""
    if source == "bootstrap":
        return bootstrap_fingerprint(settings.admin_token.get_secret_value())
    if source == "token":
        key = signing_key(settings)
        return hmac.new(b"feedback-dashboard-token", key, hashlib.sha256).hexdigest()
    if source == "oidc" and settings.oidc_issuer:
        verifier = [settings.oidc_issuer, settings.oidc_audience, settings.oidc_jwks_url]
        text = json.dumps(verifier).encode()
        return hmac.new(b"feedback-dashboard-oidc", text, hashlib.sha256).hexdigest()
    return None


async def open_session(
    rt: Runtime,
    principal: Principal,
    *,
    fingerprint: str | None,
    now: datetime,
    expires_at: datetime,
) -> str:
    """Store a new session for `principal`; returns the cookie's value (shown only to it)."""
    value = secrets.token_urlsafe(32)
    key = session_hash(value)
    assert key is not None
    async with rt.transaction() as uow:
        s = uow.session
        await repo.delete_expired_dashboard_sessions(s, now)  # the table stays small
        s.add(
            DashboardSession(
                session_hash=key,
                role=principal.role,
                subject=principal.subject,
                token_id=principal.token_id,
                source=principal.source,
                credential_hash=fingerprint,
                created_at=now,
                expires_at=expires_at,
            )
        )
    return value


async def find_session(rt: Runtime, value: str | None, *, now: datetime) -> DashboardSession | None:
    """The live session behind a cookie value, or None."""
    key = session_hash(value)
    if key is None:
        return None
    async with rt.sessions() as s:
        found = await repo.dashboard_session(s, key)
    if found is None or found.expires_at <= now:
        return None
    return found


async def close_session(rt: Runtime, value: str | None) -> None:
    """Forget the session (logout, or its token was revoked); nothing if there is none."""
    key = session_hash(value)
    if key is None:
        return
    async with rt.transaction() as uow:
        s = uow.session
        await repo.delete_dashboard_session(s, key)
