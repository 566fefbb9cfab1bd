"""Who may call feedback: the kernel's roles, sales-tool tokens, the dashboard's session."""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from feedback import outcomes, sessions
from feedback.schemas import OutcomeIn
from feedback.sessions import SESSION_COOKIE
from leadflow.access import Principal, access_of, allow, as_uuid
from leadflow.http import Credentials, Problem
from leadflow.service import Runtime

__all__ = ["DASHBOARD_ROLES", "SESSION_COOKIE", "ReaderOrSession", "integration_principal"]

DASHBOARD_ROLES = frozenset({"admin", "analyst"})


async def integration_principal(request: Request, token: str) -> Principal | None:
    """The kernel's resolver hook: a live `lf_it_` token is a `sales_tool` principal."""
    runtime: Runtime = request.app.state.runtime
    integration_id = await outcomes.token_integration(runtime, token)
    if integration_id is None:
        return None
    return Principal("sales_tool", str(integration_id), None, "service")


def external_scope(principal: Principal) -> str:
    """The id space an outcome's `external_id` lives in: one per sender (two CRMs may reuse
    each other's ids), the admin's own (""), a rep's, a sales tool's."""
    if principal.role == "admin":
        return ""
    if principal.source == "service":  # an `lf_it_` integration: as its webhooks
        return principal.subject or ""
    subject = principal.subject or principal.token_id or ""
    if principal.role == "rep":  # one rep, however its id is written in the token
        rep_id = as_uuid(subject)
        subject = str(rep_id) if rep_id is not None else subject
    return f"{principal.role}:{subject}"


def outcome_receipt(principal: Principal, body: OutcomeIn) -> outcomes.Receipt:
    """Where an outcome comes from; 403 for `reopen` from anyone but the admin."""
    if body.reopen and principal.role != "admin":
        raise Problem(403, "Forbidden", "Only the admin may reopen a closed lead (`reopen`).")
    integration_id = None
    if principal.source == "service" and principal.subject:
        integration_id = uuid.UUID(principal.subject)
    return outcomes.Receipt(integration_id, scope=external_scope(principal))


# ---------------------------------------------------------------- the dashboard's session


def _now() -> datetime:
    return datetime.now(UTC)


async def login_principal(request: Request, token: str) -> Principal | None:
    """The principal behind a token pasted into the login form (any kind `allow` knows)."""
    return await access_of(request.app.state).principal(request, token)


def token_expiry(principal: Principal) -> datetime | None:
    """When the token itself expires (a session never outlives it); None: it does not."""
    exp = principal.expires_at  # read by the kernel when it verified the token
    return datetime.fromtimestamp(exp, UTC) if exp is not None else None


async def start_session(request: Request, principal: Principal, hours: float) -> str:
    """A new session for a dashboard role; returns the cookie's value."""
    now = _now()
    expires = now + timedelta(hours=hours)
    until = token_expiry(principal)
    fingerprint = sessions.credential_fingerprint(request.app.state.settings, principal.source)
    return await sessions.open_session(
        request.app.state.runtime,
        principal,
        fingerprint=fingerprint,
        now=now,
        expires_at=min(expires, until) if until else expires,
    )


async def session_principal(request: Request) -> Principal | None:
    """Who the dashboard's cookie stands for; None when it is missing, unknown, expired,
    logged out, or its token was revoked since (that also ends the session)."""
    value = request.cookies.get(SESSION_COOKIE)
    runtime: Runtime = request.app.state.runtime
    found = await sessions.find_session(runtime, value, now=_now())
    if found is None or found.role not in DASHBOARD_ROLES:
        return None
    access = access_of(request.app.state)
    revoked = found.token_id is not None and await access.is_revoked(found.token_id)
    # What verified the login (admin token, token secret, OIDC issuer) must be unchanged.
    now_verified_by = sessions.credential_fingerprint(request.app.state.settings, found.source)
    rotated = now_verified_by is None or not hmac.compare_digest(
        found.credential_hash or "", now_verified_by
    )
    if revoked or rotated:
        await sessions.close_session(runtime, value)
        return None
    return Principal(found.role, found.subject, found.token_id, found.source)  # type: ignore[arg-type]


_reader = allow("admin", "analyst").dependency


async def reader_or_session(request: Request, credentials: Credentials) -> Principal:
    """An admin or analyst token, or (a browser on the dashboard, no token) its session."""
    if credentials is None:
        found = await session_principal(request)
        if found is not None:
            return found
    assert _reader is not None
    principal: Principal = await _reader(request, credentials)
    return principal


ReaderOrSession = Annotated[Principal, Depends(reader_or_session)]
