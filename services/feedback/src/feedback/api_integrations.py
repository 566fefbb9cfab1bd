"""Routes for sales-tool integrations: tokens, webhook secrets and the inbound webhook."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from feedback import outcomes
from feedback.api import accept_outcome
from feedback.models import Integration
from feedback.schemas import IntegrationCreated, IntegrationIn, IntegrationOut, OutcomeAccepted
from leadflow.access import AdminOnly, roles_text
from leadflow.http import Problem, field_name, from_state, invalid
from leadflow.service import Runtime

router = APIRouter(prefix="/v1", tags=["integrations"])

RT = Annotated[Runtime, from_state("runtime", Runtime)]


def _out(i: Integration) -> dict[str, object]:
    return {
        "integration_id": i.integration_id,
        "name": i.name,
        "kind": i.kind,
        "hint": i.hint,
        "created_at": i.created_at,
        "revoked_at": i.revoked_at,
        "active": i.revoked_at is None,
        "webhook_path": (
            f"/v1/integrations/{i.integration_id}/webhook" if i.kind == "webhook" else None
        ),
    }


@router.post(
    "/integrations",
    status_code=201,
    response_model=IntegrationCreated,
    summary="Create a sales-tool integration: a token or a webhook secret, shown once",
    description=(
        "kind `token`: answers a bearer token `lf_it_…` for POST /v1/outcomes; only its "
        "SHA-256 is stored, so it cannot be shown again. kind `webhook`: answers a Standard "
        "Webhooks secret `whsec_…` with which the tool signs what it posts to "
        "`webhook_path`; it is a shared secret, kept by this service because verifying "
        "needs it. A token or webhook acts as the `sales_tool` role: it may post outcomes, "
        "never with `reopen`. " + roles_text("admin")
    ),
)
async def create_integration(body: IntegrationIn, rt: RT, _: AdminOnly) -> IntegrationCreated:
    created = await outcomes.create_integration(rt, body.name, body.kind)
    return IntegrationCreated.model_validate(
        {**_out(created.integration), "token": created.token, "secret": created.secret}
    )


@router.get(
    "/integrations",
    response_model=list[IntegrationOut],
    summary="List the integrations, revoked ones too (never a token or secret)",
    description=roles_text("admin"),
)
async def list_integrations(rt: RT, _: AdminOnly) -> list[IntegrationOut]:
    return [IntegrationOut.model_validate(_out(i)) for i in await outcomes.list_integrations(rt)]


@router.delete(
    "/integrations/{integration_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an integration: its token or webhook is refused from now on",
    description=roles_text("admin"),
    responses={404: {"description": "No such integration"}},
)
async def revoke_integration(integration_id: uuid.UUID, rt: RT, _: AdminOnly) -> Response:
    if not await outcomes.revoke_integration(rt, integration_id):
        raise Problem(404, "Not Found", "No such integration.")
    return Response(status_code=204)


@router.post(
    "/integrations/{integration_id}/webhook",
    status_code=202,
    response_model=OutcomeAccepted,
    summary="Take an outcome signed the Standard Webhooks way by a webhook integration",
    description=(
        "Headers `webhook-id`, `webhook-timestamp` (within 5 minutes of now) and "
        "`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the "
        "integration's secret). The body is the same as POST /v1/outcomes (or a payload "
        "`{type, timestamp, data}` whose `data` is), and it is processed the same way; a "
        "redelivery with the same `webhook-id` returns the first answer. The signature is "
        "the credential (no bearer token): the integration acts as the `sales_tool` role, so "
        "`reopen` is refused (403)."
    ),
    responses={
        401: {"description": "Missing, bad or stale signature, or no live webhook integration"},
        403: {"description": "`reopen`, which only the admin may"},
        409: {"description": "Contradicts an earlier close, or external_id reused"},
    },
)
async def receive_webhook(integration_id: uuid.UUID, request: Request, rt: RT) -> JSONResponse:
    raw = await request.body()
    try:
        body, receipt = await outcomes.verified_webhook(
            rt, integration_id, raw, dict(request.headers)
        )
    except outcomes.WebhookRefused as exc:
        raise Problem(401, "Unauthorized", f"Webhook refused: {exc}.") from exc
    except ValidationError as exc:
        raise invalid(
            (field_name(e["loc"]) or "body", str(e["msg"])) for e in exc.errors()
        ) from exc
    if body.reopen:
        raise Problem(403, "Forbidden", "Only the admin may reopen a closed lead (`reopen`).")
    return await accept_outcome(rt, body, receipt)
