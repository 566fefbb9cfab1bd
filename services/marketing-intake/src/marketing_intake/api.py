"""marketing-intake's routes: validate, call a handler, map the result."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse

from leadflow.http import AdminAuth, Credentials, Problem, bearer_token, tokens_equal
from leadflow.service import Runtime
from marketing_intake import handlers
from marketing_intake.models import ApiKey
from marketing_intake.normalize import LeadInvalid
from marketing_intake.schemas import (
    AcceptedOut,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LeadExport,
    LeadIn,
)

router = APIRouter(prefix="/v1")


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RT = Annotated[Runtime, Depends(runtime)]


async def require_key(rt: RT, credentials: Credentials) -> ApiKey:
    token = bearer_token(credentials)
    key = await handlers.authenticate(rt, token)
    if key is None:
        raise Problem(
            401,
            "Unauthorized",
            "Unknown or revoked API key.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key


async def require_key_or_admin(rt: RT, credentials: Credentials) -> None:
    token = bearer_token(credentials)
    if tokens_equal(token, rt.settings.admin_token.get_secret_value()):
        return
    if await handlers.authenticate(rt, token) is None:
        raise Problem(403, "Forbidden", "This call needs the admin token or an API key.")


KeyAuth = Annotated[ApiKey, Depends(require_key)]
KeyOrAdmin = Annotated[None, Depends(require_key_or_admin)]


def invalid(exc: LeadInvalid) -> Problem:
    errors = [{"field": e.field, "message": e.message} for e in exc.errors]
    names = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return Problem(422, "Validation failed", f"Invalid fields: {names}", errors=errors)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    tags=["api keys"],
    summary="Create an API key for the lead API (shown once, stored hashed)",
)
async def create_api_key(body: ApiKeyIn, rt: RT, _: AdminAuth) -> ApiKeyCreated:
    key, plaintext = await handlers.create_api_key(rt, body.name)
    return ApiKeyCreated(
        key=plaintext, **ApiKeyOut.model_validate(key, from_attributes=True).model_dump()
    )


@router.post(
    "/leads",
    status_code=202,
    response_model=AcceptedOut,
    tags=["leads"],
    summary="Submit a lead",
    description=(
        "Validates and normalises the lead, then stores it together with its "
        "`leads.captured` event in one transaction before answering 202: an accepted lead "
        "is never lost. The same email within the duplicate window is the same lead "
        "(`duplicate: true`, a new touch). With `Idempotency-Key`, a repeat of the same "
        "request returns the first answer."
    ),
    responses={
        422: {"description": "Invalid fields, each named"},
        409: {"description": "Idempotency-Key reused with another body"},
    },
)
async def submit_lead(
    body: LeadIn,
    request: Request,
    rt: RT,
    key: KeyAuth,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    raw = body.model_dump(exclude_unset=True)
    remember = None
    if idempotency_key:
        request_hash = hashlib.sha256(await request.body()).hexdigest()
        owner = str(key.id)
        previous = await handlers.replay(rt, owner, idempotency_key)
        if previous is not None:
            if previous.request_hash != request_hash:
                raise Problem(409, "Conflict", "Idempotency-Key was used with a different body.")
            return JSONResponse(
                previous.body, status_code=previous.status, headers={"Idempotent-Replayed": "true"}
            )
        remember = handlers.Remember(owner, idempotency_key, request_hash)
    try:
        accepted = await handlers.accept_lead(rt, raw, source="api", remember=remember)
    except LeadInvalid as exc:
        raise invalid(exc) from exc
    return JSONResponse(handlers.accepted_body(accepted), status_code=202)


@router.get(
    "/leads/{lead_id}",
    response_model=LeadExport,
    tags=["leads"],
    summary="Export a lead (personal data access request)",
)
async def get_lead(lead_id: uuid.UUID, rt: RT, _: KeyOrAdmin) -> LeadExport:
    stored = await handlers.export_lead(rt, lead_id)
    if stored is None:
        raise Problem(404, "Not Found", "No lead with this id.")
    return LeadExport(
        lead_id=stored.lead_id,
        lead=handlers.stored_lead(stored),
        touches=stored.touches,
        captured_at=stored.captured_at,
        last_touch_at=stored.last_touch_at,
        erased_at=stored.erased_at,
    )


@router.delete(
    "/leads/{lead_id}",
    status_code=202,
    tags=["leads"],
    summary="Erase a lead's personal data everywhere (publishes leads.erased)",
)
async def erase_lead(lead_id: uuid.UUID, rt: RT, _: AdminAuth) -> dict[str, str]:
    if not await handlers.erase_lead(rt, lead_id):
        raise Problem(404, "Not Found", "No lead with this id.")
    return {"lead_id": str(lead_id), "status": "erasing"}
