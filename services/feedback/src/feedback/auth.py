"""Who may call: outcomes (admin or integration token), the dashboard's login cookie."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from feedback import outcomes
from leadflow.http import Credentials, Problem, bearer_token, tokens_equal
from leadflow.service import Runtime

SESSION_COOKIE = "lf_feedback_session"


@dataclass(frozen=True)
class Caller:
    """The admin (integration_id None) or a sales-tool integration."""

    integration_id: uuid.UUID | None


def _admin_token(request: Request) -> str:
    token: str = request.app.state.settings.admin_token.get_secret_value()
    return token


async def outcome_caller(request: Request, credentials: Credentials) -> Caller:
    """The admin token or a live `lf_it_` token (401 without a token, 403 with a wrong one)."""
    token = bearer_token(credentials)
    if tokens_equal(token, _admin_token(request)):
        return Caller(None)
    runtime: Runtime = request.app.state.runtime
    integration_id = await outcomes.token_integration(runtime, token)
    if integration_id is None:
        raise Problem(
            403, "Forbidden", "This call needs the admin token or a live sales-tool token."
        )
    return Caller(integration_id)


OutcomeAuth = Annotated[Caller, Depends(outcome_caller)]


# ---------------------------------------------------------------- the dashboard's session


def _signature(admin_token: str, expires: int) -> str:
    return hmac.new(
        admin_token.encode(), f"feedback-dashboard:{expires}".encode(), hashlib.sha256
    ).hexdigest()


def session_value(admin_token: str, *, hours: float, now: float | None = None) -> str:
    """`<expiry>.<HMAC keyed by the admin token>`: the cookie never holds the token itself,
    and changing the admin token ends every session."""
    expires = int((now if now is not None else time.time()) + hours * 3600)
    return f"{expires}.{_signature(admin_token, expires)}"


def session_valid(value: str | None, admin_token: str, *, now: float | None = None) -> bool:
    if not value or "." not in value:
        return False
    expires_text, signature = value.split(".", 1)
    if not expires_text.isdigit():
        return False
    expires = int(expires_text)
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature, _signature(admin_token, expires))


def logged_in(request: Request) -> bool:
    return session_valid(request.cookies.get(SESSION_COOKIE), _admin_token(request))


async def require_admin_or_session(request: Request, credentials: Credentials) -> None:
    """The admin token, or (for a browser on the dashboard) its login cookie."""
    if credentials is None and logged_in(request):
        return
    if not tokens_equal(bearer_token(credentials), _admin_token(request)):
        raise Problem(403, "Forbidden", "This call needs the admin token.")


AdminOrSession = Annotated[None, Depends(require_admin_or_session)]
