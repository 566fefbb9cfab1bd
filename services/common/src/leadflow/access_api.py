"""`/v1/tokens` on every service: issue, list, revoke one or every token of a subject.

Issuing and revoking each commit a row of the service's token tables together with its
`leadflow.tokens` record in the outbox before they answer, so neither is lost: the relay
publishes the record when Kafka is there, and every replica of every service keeps it
(access_follower.py). The service that revokes refuses the token at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from leadflow import access_store as store
from leadflow.access import AdminOnly, Principal, Role, access_of, as_uuid, roles_text
from leadflow.access_follower import follow_tokens
from leadflow.access_tokens import Claims, mint_token, new_token_id
from leadflow.events import new_event_id
from leadflow.http import Problem, invalid
from leadflow.kafka import TOKENS_TOPIC

if TYPE_CHECKING:
    from leadflow.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

# A revocation is kept this long: past the longest lifetime a token can be issued with.
REVOKED_FOR_SECONDS = 366 * 86400
TOKEN_ID_PATTERN = r"^tok_[0-9a-f]{24}$"
# A subject is kept and listed: no control characters (PostgreSQL refuses NUL in text).
SUBJECT_PATTERN = r"^[^\x00-\x1f\x7f]+$"

router = APIRouter(prefix="/v1/tokens", tags=["access"])


class TokenRequest(BaseModel):
    """A token to issue."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        pattern=SUBJECT_PATTERN,
        description="rep: the rep_id, a UUID (required); sales_tool: the integration's name",
    )
    ttl_days: int | None = Field(default=None, ge=1, le=365)


class IssuedToken(BaseModel):
    """A new token: `token` is shown this once and stored nowhere."""

    token_id: str
    token: str
    role: Role
    subject: str | None
    expires_at: datetime


class TokenOut(BaseModel):
    """An issued token as the inventory lists it (never the token text)."""

    token_id: str
    role: str
    subject: str | None
    issued_by: str = Field(description='the issuer\'s token_id, "bootstrap" or "oidc:<sub>"')
    expires_at: datetime
    created_at: datetime
    revoked_at: datetime | None


class TokenList(BaseModel):
    """Issued tokens known to this service, newest first."""

    tokens: list[TokenOut]


class RevokedList(BaseModel):
    """The tokens a subject revocation revoked."""

    revoked: list[str]


def issuer_of(principal: Principal) -> str:
    """Who minted a token, as its lineage records it."""
    if principal.source == "bootstrap":
        return "bootstrap"
    if principal.source == "oidc":
        return f"oidc:{principal.subject or principal.token_id or '?'}"[:300]
    if principal.source == "token" and principal.token_id:
        return principal.token_id
    return f"{principal.source}:{principal.subject or '?'}"[:300]


def _subject_of(body: TokenRequest) -> str | None:
    if body.role != "rep":
        return body.subject
    rep_id = as_uuid(body.subject)
    if rep_id is None:
        raise invalid([("subject", "a rep token needs the rep_id (a UUID) as subject")])
    return str(rep_id)  # one spelling of the rep, whatever was sent


@router.post(
    "",
    status_code=201,
    summary="Issue an access token",
    description="Issue a signed `lf_at_` token that every service accepts until it expires "
    "or is revoked. A `rep` token needs `subject` (the rep_id, a UUID). A token minted with "
    "an issued admin token expires no later than it; only the bootstrap admin token or an OIDC "
    "admin may mint `admin` tokens (403). " + roles_text("admin"),
)
async def issue_token(body: TokenRequest, request: Request, p: AdminOnly) -> IssuedToken:
    subject = _subject_of(body)
    if body.role == "admin" and p.source not in ("bootstrap", "oidc"):
        detail = "Only the bootstrap admin token or an OIDC admin may mint admin tokens."
        raise Problem(403, "Forbidden", detail)
    access = access_of(request.app.state)
    now = datetime.now(UTC).replace(microsecond=0)
    days = body.ttl_days or access.settings.token_default_ttl_days
    expires = now + timedelta(days=days)
    if p.source == "token" and p.expires_at is not None:  # never outlive its issuer token
        expires = min(expires, datetime.fromtimestamp(p.expires_at, UTC))
    claims = Claims(new_token_id(), body.role, subject, int(expires.timestamp()))
    issued = store.Issued(claims.token_id, body.role, subject, issuer_of(p), expires, now)
    runtime: Database = request.app.state.runtime
    async with runtime.transaction() as uow:
        await _keep(uow, issued, store.issued_record(issued))
    log.info("token issued", extra={"token_id": claims.token_id, "role": body.role})
    return IssuedToken(
        token_id=claims.token_id,
        token=mint_token(access.key, claims),
        role=body.role,
        subject=subject,
        expires_at=expires,
    )


async def _keep(
    uow: UnitOfWork, record: store.Issued | store.Revoked, kv: tuple[bytes, bytes]
) -> None:
    """Keep a record in this service's table and stage it for `leadflow.tokens`."""
    await store.save(uow.session, [record])
    uow.emit_record(
        record_id=new_event_id(),
        topic=TOKENS_TOPIC,
        key=kv[0],
        value=kv[1],
        headers=[("content-type", b"application/json")],
    )


@router.get(
    "",
    summary="List issued access tokens",
    description="The tokens issued by any service (as far as this one has heard, usually "
    "within a second), newest first, with their lineage (`issued_by`) and revocation; "
    "never the token text. " + roles_text("admin"),
)
async def list_tokens(
    request: Request,
    _: AdminOnly,
    subject: Annotated[
        str | None, Query(min_length=1, max_length=200, pattern=SUBJECT_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TokenList:
    runtime: Database = request.app.state.runtime
    async with runtime.sessions() as session:
        found = await store.tokens(session, subject=_canonical(subject), limit=limit)
    return TokenList(
        tokens=[TokenOut(**vars(token), revoked_at=revoked) for token, revoked in found]
    )


def _canonical(subject: str | None) -> str | None:
    rep_id = as_uuid(subject)
    return str(rep_id) if rep_id is not None else subject


async def _revoke(request: Request, token_ids: list[str]) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    until = now + timedelta(seconds=REVOKED_FOR_SECONDS)
    runtime: Database = request.app.state.runtime
    async with runtime.transaction() as uow:
        for token_id in token_ids:
            revocation = store.Revoked(token_id, now, until)
            await _keep(uow, revocation, store.revoked_record(revocation))
    access = access_of(request.app.state)
    for token_id in token_ids:
        access.revoked.add(token_id, until.timestamp())
        log.info("token revoked", extra={"token_id": token_id})


@router.delete(
    "/{token_id}",
    status_code=204,
    summary="Revoke an access token",
    description="Every service refuses the token within seconds (this one at once; the "
    "others when the revocation reaches them through Kafka), and after a restart too. "
    "Revoking an unknown or already revoked id changes nothing. " + roles_text("admin"),
)
async def revoke_token(
    token_id: Annotated[str, Path(pattern=TOKEN_ID_PATTERN, max_length=28)],
    request: Request,
    _: AdminOnly,
) -> Response:
    await _revoke(request, [token_id])
    return Response(status_code=204)


@router.delete(
    "",
    summary="Revoke every token of a subject",
    description="Revoke every unexpired token issued for `subject` (a rep's rep_id, a sales "
    "tool's name) that this service knows of (the inventory, `GET /v1/tokens`); answers the "
    "ids revoked. " + roles_text("admin"),
)
async def revoke_subject(
    request: Request,
    _: AdminOnly,
    subject: Annotated[str, Query(min_length=1, max_length=200, pattern=SUBJECT_PATTERN)],
) -> RevokedList:
    runtime: Database = request.app.state.runtime
    async with runtime.sessions() as session:
        live = await store.live_tokens_of(
            session, _canonical(subject) or subject, datetime.now(UTC)
        )
    token_ids = sorted(t.token_id for t in live)
    if token_ids:
        await _revoke(request, token_ids)
    return RevokedList(revoked=token_ids)


def install_access(app: FastAPI) -> Callable[[], Coroutine[Any, Any, None]]:
    """Mount the token routes on `app`, make its `Access` and let it read the service's
    revoked table; return the `leadflow.tokens` follower, a worker for the app's runtime."""
    access = access_of(app.state)
    runtime: Database = app.state.runtime
    app.include_router(router)

    async def load() -> list[tuple[str, float]]:
        async with runtime.sessions() as session:
            found = await store.live_revocations(session, datetime.now(UTC))
        return [(r.token_id, r.until.timestamp()) for r in found]

    access.loader = load

    def follower() -> Coroutine[Any, Any, None]:
        access.catchup.following = True  # from the moment the worker starts: fail closed
        return follow_tokens(access, runtime)

    return follower
