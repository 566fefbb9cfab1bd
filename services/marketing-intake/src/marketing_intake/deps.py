"""Route dependencies: the runtime, API key and admin checks, rate limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from leadflow.access import authenticate, limit_failures
from leadflow.http import Credentials, Problem, bearer_token, invalid
from leadflow.leadbody.normalize import LeadInvalid
from leadflow.ratelimit import TokenBuckets, retry_after
from leadflow.service import Runtime
from marketing_intake import handlers_keys
from marketing_intake.metrics import RATE_LIMITED
from marketing_intake.models import ApiKey


async def runtime(request: Request) -> Runtime:
    """Async on purpose: FastAPI would run a plain function in a worker thread."""
    rt: Runtime = request.app.state.runtime
    return rt


RT = Annotated[Runtime, Depends(runtime)]


class Limits:
    """The rate limiters of this replica: per API key, and per client address per form."""

    def __init__(self, key: TokenBuckets, form: TokenBuckets) -> None:
        self.key = key
        self.form = form


def limits(request: Request) -> Limits:
    found: Limits = request.app.state.limits
    return found


def check_rate(buckets: TokenBuckets, key: str, scope: str, headers: dict[str, str]) -> None:
    """Raise 429 with `Retry-After` when `key` has spent its budget."""
    wait = buckets.take(key)
    if wait > 0:
        RATE_LIMITED.labels(scope).inc()
        raise Problem(
            429,
            "Too Many Requests",
            f"Rate limit reached; retry in {retry_after(wait)} s.",
            headers={**headers, "Retry-After": retry_after(wait)},
        )


async def require_key(request: Request, credentials: Credentials) -> ApiKey:
    """The caller's live API key (401 otherwise), within its rate limit (429)."""
    # The runtime from the app, not through `RT`: a nested dependency is solved again on
    # every request even when cached, and this one guards the busiest route.
    key = await _live_key(request, await runtime(request), bearer_token(credentials))
    check_rate(limits(request).key, str(key.id), "key", {})
    return key


async def _live_key(request: Request, rt: Runtime, token: str) -> ApiKey:
    """The live key `token`; a wrong one counts as a failed check of the client's address
    in the kernel's limiter (the one role tokens count in): past it, 429 before any lookup,
    so guessing keys is as slow as guessing tokens, and a right guess then tells nothing."""
    return await limit_failures(
        request,
        lambda: handlers_keys.authenticate(rt, token),
        "Unknown or revoked API key.",
        kind="credential",
    )


async def require_key_or_admin(request: Request, rt: RT, credentials: Credentials) -> ApiKey | None:
    """The caller's API key, or None for an admin (who reads every lead): any admin token
    the kernel knows (bootstrap, issued or OIDC), checked as `allow("admin")` checks it."""
    token = bearer_token(credentials)
    if token.startswith(handlers_keys.KEY_PREFIX):
        return await _live_key(request, rt, token)
    principal = await authenticate(request, credentials)
    if principal.role != "admin":
        raise Problem(403, "Forbidden", "This call needs an admin token or an API key.")
    return None


# Said in the description of routes that take an intake key rather than a role token.
KEY_CREDENTIAL = "Credential: an `lf_sk_` API key (role tokens do not apply)."
KeyAuth = Annotated[ApiKey, Depends(require_key)]
KeyOrAdmin = Annotated[ApiKey | None, Depends(require_key_or_admin)]


def lead_invalid(exc: LeadInvalid) -> Problem:
    """A 422 naming each bad field of a lead."""
    return invalid((e.field, e.message) for e in exc.errors)
