"""sales-assignment's webhook routes: endpoints, secret rotation, the delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from leadflow.access import AdminOnly, roles_text
from sales_assignment import admin
from sales_assignment.api_deps import NOT_FOUND, A
from sales_assignment.api_deps import bad as _invalid
from sales_assignment.models import DeliveryRow, EndpointRow
from sales_assignment.schemas import (
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    SecretRotated,
)
from sales_assignment.targets import target_problem

router = APIRouter(prefix="/v1")


def _endpoint_out(row: EndpointRow) -> EndpointOut:
    return EndpointOut.model_validate(row, from_attributes=True)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=EndpointCreated,
    tags=["webhooks"],
    summary="Subscribe a URL to lead.assigned / lead.reassigned / lead.erased (Standard Webhooks)",
    description=roles_text("admin"),
)
async def create_endpoint(body: EndpointIn, a: A, _: AdminOnly) -> EndpointCreated:
    s = a.settings
    problem = await target_problem(body.url, env=s.env, allowed_hosts=s.webhook_allowed_hosts)
    if problem is not None:
        raise _invalid("url", problem)
    row, secret = await admin.create_endpoint(a, body.url, list(body.event_types))
    return EndpointCreated(id=row.id, url=row.url, event_types=row.event_types, secret=secret)


@router.get(
    "/webhook-endpoints",
    response_model=list[EndpointOut],
    tags=["webhooks"],
    summary="Webhook endpoints, with state and why one is disabled (never the secrets)",
    description=roles_text("admin"),
)
async def list_endpoints(a: A, _: AdminOnly) -> list[EndpointOut]:
    return [_endpoint_out(row) for row in await admin.list_endpoints(a)]


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointOut,
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="Change subscriptions, disable, or re-enable (every undelivered message is sent again)",
    description=roles_text("admin"),
)
async def update_endpoint(
    endpoint_id: uuid.UUID, body: EndpointPatch, a: A, _: AdminOnly
) -> EndpointOut:
    return _endpoint_out(await admin.update_endpoint(a, endpoint_id, body.model_dump()))


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="New signing secret; the previous one also signs until previous_valid_until",
    description=roles_text("admin"),
)
async def rotate_secret(endpoint_id: uuid.UUID, a: A, _: AdminOnly) -> SecretRotated:
    secret, until = await admin.rotate_secret(a, endpoint_id)
    return SecretRotated(secret=secret, previous_valid_until=until)


def _delivery_out(row: DeliveryRow) -> DeliveryOut:
    return DeliveryOut.model_validate(row, from_attributes=True)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=list[DeliveryOut],
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="Deliveries to an endpoint, newest first",
    description=roles_text("admin"),
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    a: A,
    _: AdminOnly,
    status: Literal["pending", "delivered", "failed", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    return [_delivery_out(d) for d in await admin.deliveries(a, endpoint_id, status, limit)]


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryOut,
    tags=["webhooks"],
    responses={**NOT_FOUND, 409: {"description": "The lead was erased"}},
    summary="Send a delivery again now (same webhook-id: receivers dedupe); "
    "an erased lead's only message that may go is its lead.erased",
    description=roles_text("admin"),
)
async def retry_delivery(
    endpoint_id: uuid.UUID, delivery_id: str, a: A, _: AdminOnly
) -> DeliveryOut:
    return _delivery_out(await admin.retry_delivery(a, endpoint_id, delivery_id))
