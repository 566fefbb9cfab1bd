"""Who may call a route: roles, the principal behind a bearer token, and `allow(...)`.

A bearer token is one of: the bootstrap `LEADFLOW_ADMIN_TOKEN` (admin), a signed `lf_at_`
token issued by `POST /v1/tokens` on any service (access_tokens.py), an OIDC JWT (oidc.py),
or a service-local credential a service's resolver knows (feedback's `lf_it_`). Failed
checks are counted per client address; past the limit every bearer check from that address
is answered 429 until it cools down, so a guess that would have been right tells nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Request
from starlette.requests import HTTPConnection

from leadflow.access_tokens import (
    ROLES,
    Catchup,
    RevokedTokens,
    Role,
    as_uuid,
    signing_key,
    verify_token,
)
from leadflow.edge import client_key
from leadflow.http import Credentials, Problem, tokens_equal
from leadflow.oidc import OidcVerifier
from leadflow.ratelimit import TokenBuckets, retry_after
from leadflow.settings import Settings

# Role, ROLES and as_uuid live in access_tokens (which cannot import this module): re-exported.
__all__ = [
    "ROLES",
    "Access",
    "AdminOnly",
    "CredentialResolver",
    "Principal",
    "Reader",
    "Role",
    "SalesActor",
    "SalesReader",
    "Source",
    "access_of",
    "allow",
    "as_uuid",
    "authenticate",
    "client_address_of",
    "limit_failures",
    "only_own",
    "register_resolver",
    "rep_of",
    "roles_text",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
Source = Literal["bootstrap", "token", "oidc", "service"]


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as access goes."""

    role: Role
    subject: str | None  # rep_id for `rep`; the integration for `sales_tool`; else None
    token_id: str | None  # None for the bootstrap admin token
    source: Source
    expires_at: int | None = None  # epoch seconds, when the token says (a child lives no longer)


# A service-local credential (feedback's `lf_it_`): the principal, or None if not one of its.
CredentialResolver = Callable[[Request, str], Awaitable[Principal | None]]


class Access:
    """One service's view of every credential source; built once per app (`access_of`)."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.key = signing_key(settings)
        self.revoked = RevokedTokens(clock=clock)
        self.oidc = OidcVerifier.from_settings(settings)
        self.failures = TokenBuckets(
            settings.auth_failures_per_minute / 60, settings.auth_failures_burst
        )
        self.resolver: CredentialResolver | None = None
        self.catchup = Catchup()
        # Reads the service's revoked table (access_api.install_access sets it).
        self.loader: Callable[[], Awaitable[list[tuple[str, float]]]] | None = None
        self._load_lock = asyncio.Lock()
        self._clock = clock

    async def load_revocations(self) -> None:
        """Read the service's revoked table into the set, once, before any issued token is
        checked (503 while the database cannot be read: never a check without it)."""
        if self.catchup.loaded:
            return
        async with self._load_lock:
            if self.catchup.loaded:
                return
            try:
                for token_id, until in await self.loader() if self.loader else []:
                    self.revoked.add(token_id, until)
            except Exception as exc:
                log.warning("reading the revoked tokens failed (%s)", type(exc).__name__)
                raise _not_yet("the revoked tokens cannot be read") from exc
            self.catchup.loaded = True

    async def is_revoked(self, token_id: str) -> bool:
        """Whether an issued token is revoked; 503 while this process may not know yet."""
        await self.load_revocations()
        if self.revoked.has(token_id):
            return True
        if not self.catchup.knows_revocations():
            raise _not_yet("this service is still reading token revocations")
        return False

    async def check_ready(self) -> None:
        """For `/readyz`: raise while issued tokens cannot be checked yet."""
        await self.load_revocations()
        if not self.catchup.knows_revocations():
            raise RuntimeError("token revocations not read up to the end yet")

    async def principal(self, request: Request, token: str) -> Principal | None:
        """The principal behind `token`, or None when it is unknown, expired or revoked."""
        if tokens_equal(token, self.settings.admin_token.get_secret_value()):
            return Principal("admin", None, None, "bootstrap")
        claims = verify_token(token, self.key, now=self._clock())
        if claims is not None:
            if await self.is_revoked(claims.token_id):
                return None
            c = claims
            return Principal(c.role, c.subject, c.token_id, "token", c.expires_at)
        if self.oidc is not None and self.oidc.looks_like_jwt(token):
            found = await self.oidc.verify(token)
            if found is None:
                return None
            role, subject, jti, exp = found
            return Principal(role, subject, jti, "oidc", exp)
        if self.resolver is not None:
            return await self.resolver(request, token)
        return None


def access_of(app_state: Any) -> Access:
    """The app's `Access`, made from its settings on first use."""
    found = getattr(app_state, "access", None)
    if found is None:
        found = app_state.access = Access(app_state.settings)
    assert isinstance(found, Access)
    return found


def register_resolver(app_state: Any, resolver: CredentialResolver) -> None:
    """Let `allow()` ask `resolver` about tokens the kernel does not know."""
    access_of(app_state).resolver = resolver


def client_address_of(request: HTTPConnection) -> str:
    """The one place access reads the client's address (brute-force limits key on it): an
    IPv6 client as its /64 (edge.limit_key)."""
    return client_key(request)  # honours LEADFLOW_TRUSTED_PROXIES


def _not_yet(why: str) -> Problem:
    """Issued tokens cannot be checked yet: retry in a second (fail closed, never open)."""
    return Problem(
        503,
        "Service Unavailable",
        f"Issued tokens cannot be checked yet: {why}; retry shortly.",
        headers={"Retry-After": "1"},
    )


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def authenticate(request: Request, credentials: Credentials) -> Principal:
    """The caller's principal: 401 without a known token, 429 after too many failures."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise _unauthorized("Send Authorization: Bearer <token>.")
    access = access_of(request.app.state)
    token = credentials.credentials
    return await limit_failures(
        request,
        lambda: access.principal(request, token),
        "The token is unknown, expired or revoked.",
    )


async def limit_failures(
    request: Request,
    check: Callable[[], Awaitable[_T | None]],
    detail: str,
    *,
    kind: str = "token",
) -> _T:
    """What `check()` finds, under the failed-check limit of the client's address: 429 before
    the check while the address is past it; a None counts as a failure, answered 401 with
    `detail`, or 429 once the failures pass the limit (so a right guess then tells nothing)."""
    failures = access_of(request.app.state).failures
    address = client_address_of(request)
    if (wait := failures.wait(address)) > 0:
        raise _too_many(wait, kind)
    found = await check()
    if found is None:
        if (wait := failures.take(address)) > 0:
            log.warning("too many failed %s checks", kind, extra={"client": address})
            raise _too_many(wait, kind)
        raise _unauthorized(detail)
    return found


def _too_many(wait: float, kind: str) -> Problem:
    return Problem(
        429,
        "Too Many Requests",
        f"Too many failed {kind} checks from this address; retry later.",
        headers={"Retry-After": retry_after(wait)},
    )


def allow(*roles: Role) -> Any:
    """A dependency (use via Annotated) admitting these roles, and admin always: 401 for a
    missing, unknown, expired or revoked token, 403 for another role, 429 after too many
    failed bearer checks from one client address."""
    admitted = frozenset(roles) | {"admin"}
    unknown = admitted - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    named = ", ".join(r for r in ROLES if r in admitted)

    async def check(request: Request, credentials: Credentials) -> Principal:
        principal = await authenticate(request, credentials)
        if principal.role not in admitted:
            raise Problem(403, "Forbidden", f"This call needs one of these roles: {named}.")
        return principal

    return Depends(check)


def roles_text(*roles: Role) -> str:
    """'Roles: admin, analyst.' — appended to each route's OpenAPI description."""
    admitted = set(roles) | {"admin"}
    return "Roles: " + ", ".join(r for r in ROLES if r in admitted) + "."


def only_own(principal: Principal, rep_id: object) -> None:
    """403 unless the caller may act on what is assigned to `rep_id` (a rep: only its own;
    compared as UUIDs, so no spelling of the id, and no unassigned lead, matches another)."""
    own = rep_of(principal)
    if own is not None and as_uuid(rep_id) != own:
        raise _not_own()


def rep_of(principal: Principal) -> uuid.UUID | None:
    """The rep_id a rep's token is confined to; None for roles that reach every lead
    (a rep token whose subject is not a UUID reaches nothing: 403)."""
    if principal.role != "rep":
        return None
    own = as_uuid(principal.subject)
    if own is None:
        raise _not_own()
    return own


def _not_own() -> Problem:
    return Problem(403, "Forbidden", "A rep token reaches only the rep's own leads.")


AdminOnly = Annotated[Principal, allow("admin")]
Reader = Annotated[Principal, allow("admin", "analyst")]
SalesReader = Annotated[Principal, allow("admin", "analyst", "sales_tool", "rep")]
SalesActor = Annotated[Principal, allow("admin", "sales_tool", "rep")]
