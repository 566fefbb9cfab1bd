"""API key routes (admin): create (the key shown once), list, revoke."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from leadflow.access import AdminOnly, roles_text
from leadflow.http import Problem
from marketing_intake import handlers_keys as handlers
from marketing_intake.deps import RT
from marketing_intake.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key for the lead API (shown once, stored hashed)",
    description=roles_text("admin"),
)
async def create_api_key(body: ApiKeyIn, rt: RT, _: AdminOnly) -> ApiKeyCreated:
    key, plaintext = await handlers.create_api_key(rt, body.name)
    return ApiKeyCreated(
        key=plaintext, **ApiKeyOut.model_validate(key, from_attributes=True).model_dump()
    )


@router.get(
    "",
    response_model=list[ApiKeyOut],
    summary="List API keys, revoked ones too (never the secrets)",
    description=roles_text("admin"),
)
async def list_api_keys(rt: RT, _: AdminOnly) -> list[ApiKeyOut]:
    return [
        ApiKeyOut.model_validate(k, from_attributes=True) for k in await handlers.list_api_keys(rt)
    ]


@router.delete(
    "/{key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API key: later calls with it get 401 (repeating is harmless)",
    responses={404: {"description": "No key with this id"}},
    description=roles_text("admin"),
)
async def revoke_api_key(key_id: uuid.UUID, rt: RT, _: AdminOnly) -> Response:
    if await handlers.revoke_api_key(rt, key_id) is None:
        raise Problem(404, "Not Found", "No API key with this id.")
    return Response(status_code=204)
