"""sales-assignment's routes: validate, call a use case, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from leadflow.http import AdminAuth, Problem, from_state, invalid
from sales_assignment import admin
from sales_assignment.assigning import Assigner
from sales_assignment.models import DeliveryRow, EndpointRow, RepRow
from sales_assignment.schemas import (
    AssignmentOut,
    DeliveryOut,
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    HistoryOut,
    RepBrief,
    RepIn,
    RepOut,
    RepPatch,
)
from sales_assignment.targets import target_problem

router = APIRouter(prefix="/v1")


A = Annotated[Assigner, from_state("assigner", Assigner)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}}


def _missing(what: str) -> Problem:
    return Problem(404, "Not Found", f"No {what} with this id.")


def _invalid(field: str, message: str) -> Problem:
    return invalid([(field, message)])


def _rep_out(row: RepRow, open_leads: int) -> RepOut:
    return RepOut.model_validate(row, from_attributes=True).model_copy(
        update={"open_leads": open_leads}
    )


# ---------------------------------------------------------------- reps


@router.post("/reps", status_code=201, response_model=RepOut, tags=["reps"], summary="Add a rep")
async def create_rep(body: RepIn, a: A, _: AdminAuth) -> RepOut:
    try:
        row = await admin.create_rep(a, body.model_dump(mode="json"))
    except ValueError as exc:
        raise _invalid("body", str(exc)) from exc
    return _rep_out(row, 0)


@router.get("/reps", response_model=list[RepOut], tags=["reps"], summary="List reps")
async def list_reps(a: A, _: AdminAuth) -> list[RepOut]:
    return [_rep_out(row, n) for row, n in await admin.list_reps(a)]


@router.get("/reps/{rep_id}", response_model=RepOut, tags=["reps"], responses=NOT_FOUND)
async def get_rep(rep_id: uuid.UUID, a: A, _: AdminAuth) -> RepOut:
    try:
        return _rep_out(*await admin.get_rep(a, rep_id))
    except admin.NotFound:
        raise _missing("rep") from None


@router.patch("/reps/{rep_id}", response_model=RepOut, tags=["reps"], responses=NOT_FOUND)
async def update_rep(rep_id: uuid.UUID, body: RepPatch, a: A, _: AdminAuth) -> RepOut:
    try:
        await admin.update_rep(a, rep_id, body.changes())
        return _rep_out(*await admin.get_rep(a, rep_id))
    except admin.NotFound:
        raise _missing("rep") from None
    except ValueError as exc:
        raise _invalid("body", str(exc)) from exc


@router.delete(
    "/reps/{rep_id}",
    status_code=204,
    tags=["reps"],
    responses=NOT_FOUND,
    summary="Retire a rep; their unaccepted leads are routed to others",
)
async def delete_rep(rep_id: uuid.UUID, a: A, _: AdminAuth) -> Response:
    try:
        await admin.delete_rep(a, rep_id)
    except admin.NotFound:
        raise _missing("rep") from None
    return Response(status_code=204)


# ---------------------------------------------------------------- assignments


def _assignment_out(view: admin.AssignmentView) -> AssignmentOut:
    row = view.row
    rep = RepBrief.model_validate(view.rep, from_attributes=True) if view.rep else None
    return AssignmentOut(
        lead_id=row.lead_id,
        rep=rep,
        status=row.status,
        attempt=row.attempt,
        reason=row.reason,
        assigned_at=row.assigned_at,
        accepted_at=row.accepted_at,
        sla_due_at=row.sla_due_at,
        history=[HistoryOut.model_validate(h, from_attributes=True) for h in view.history],
    )


@router.get(
    "/assignments/{lead_id}",
    response_model=AssignmentOut,
    tags=["assignments"],
    responses=NOT_FOUND,
)
async def get_assignment(lead_id: uuid.UUID, a: A, _: AdminAuth) -> AssignmentOut:
    try:
        return _assignment_out(await admin.get_assignment(a, lead_id))
    except admin.NotFound:
        raise _missing("assignment") from None


@router.post(
    "/assignments/{lead_id}/accept",
    response_model=AssignmentOut,
    tags=["assignments"],
    responses={**NOT_FOUND, 409: {"description": "Not awaiting acceptance"}},
    summary="The rep took the lead (stops SLA re-routing)",
)
async def accept(lead_id: uuid.UUID, a: A, _: AdminAuth) -> AssignmentOut:
    try:
        return _assignment_out(await admin.accept(a, lead_id))
    except admin.NotFound:
        raise _missing("assignment") from None
    except admin.Conflict as exc:
        raise Problem(409, "Conflict", str(exc)) from exc


# ---------------------------------------------------------------- webhooks


def _endpoint_out(row: EndpointRow) -> EndpointOut:
    return EndpointOut.model_validate(row, from_attributes=True)


@router.post(
    "/webhook-endpoints",
    status_code=201,
    response_model=EndpointCreated,
    tags=["webhooks"],
    summary="Subscribe a URL to lead.assigned / lead.reassigned (Standard Webhooks)",
)
async def create_endpoint(body: EndpointIn, a: A, _: AdminAuth) -> EndpointCreated:
    s = a.settings
    problem = await target_problem(body.url, env=s.env, allowed_hosts=s.webhook_allowed_hosts)
    if problem is not None:
        raise _invalid("url", problem)
    row, secret = await admin.create_endpoint(a, body.url, list(body.event_types))
    return EndpointCreated(id=row.id, url=row.url, event_types=row.event_types, secret=secret)


@router.get("/webhook-endpoints", response_model=list[EndpointOut], tags=["webhooks"])
async def list_endpoints(a: A, _: AdminAuth) -> list[EndpointOut]:
    return [_endpoint_out(row) for row in await admin.list_endpoints(a)]


@router.patch(
    "/webhook-endpoints/{endpoint_id}",
    response_model=EndpointOut,
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="Change subscriptions, disable, or re-enable (waiting deliveries then go out)",
)
async def update_endpoint(
    endpoint_id: uuid.UUID, body: EndpointPatch, a: A, _: AdminAuth
) -> EndpointOut:
    try:
        return _endpoint_out(await admin.update_endpoint(a, endpoint_id, body.model_dump()))
    except admin.NotFound:
        raise _missing("webhook endpoint") from None


def _delivery_out(row: DeliveryRow) -> DeliveryOut:
    return DeliveryOut.model_validate(row, from_attributes=True)


@router.get(
    "/webhook-endpoints/{endpoint_id}/deliveries",
    response_model=list[DeliveryOut],
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="Deliveries to an endpoint, newest first",
)
async def list_deliveries(
    endpoint_id: uuid.UUID,
    a: A,
    _: AdminAuth,
    status: Literal["pending", "delivered", "failed", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    try:
        return [_delivery_out(d) for d in await admin.deliveries(a, endpoint_id, status, limit)]
    except admin.NotFound:
        raise _missing("webhook endpoint") from None


@router.post(
    "/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryOut,
    tags=["webhooks"],
    responses=NOT_FOUND,
    summary="Send a delivery again now (same webhook-id: receivers dedupe)",
)
async def retry_delivery(
    endpoint_id: uuid.UUID, delivery_id: str, a: A, _: AdminAuth
) -> DeliveryOut:
    try:
        return _delivery_out(await admin.retry_delivery(a, endpoint_id, delivery_id))
    except admin.NotFound:
        raise _missing("delivery") from None
