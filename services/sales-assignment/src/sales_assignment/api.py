"""sales-assignment's routes: validate, call a use case, map the result."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from leadflow.access import (
    AdminOnly,
    Reader,
    SalesActor,
    SalesReader,
    only_own,
    rep_of,
    roles_text,
)
from leadflow.http import Problem, invalid
from sales_assignment import admin, declining
from sales_assignment.api_deps import NOT_FOUND, A
from sales_assignment.api_deps import bad as _invalid
from sales_assignment.models import RepRow
from sales_assignment.rep_csv import RowError, parse_reps_csv
from sales_assignment.schemas import (
    AssignmentOut,
    DeclineIn,
    DeclineOut,
    HistoryOut,
    RepBrief,
    RepIn,
    RepOut,
    RepPatch,
    RepsImported,
)

router = APIRouter(prefix="/v1")
CSV_TYPES = ("text/csv", "text/plain", "application/csv")


def _rep_out(row: RepRow, open_leads: int) -> RepOut:
    return RepOut.model_validate(row, from_attributes=True).model_copy(
        update={"open_leads": open_leads}
    )


# ---------------------------------------------------------------- reps


@router.post(
    "/reps",
    status_code=201,
    response_model=RepOut,
    tags=["reps"],
    summary="Add a rep",
    description=roles_text("admin"),
)
async def create_rep(body: RepIn, a: A, _: AdminOnly) -> RepOut:
    try:
        row = await admin.create_rep(a, body.model_dump(mode="json"))
    except ValueError as exc:
        raise _invalid("body", str(exc)) from exc
    return _rep_out(row, 0)


async def csv_text(request: Request) -> str:
    """The body of a CSV upload as text: 415 unless text/csv (or plain), 422 unless UTF-8."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CSV_TYPES:
        raise Problem(415, "Unsupported Media Type", "Send the file as text/csv (UTF-8).")
    try:
        return (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid("body", f"not UTF-8: {exc.reason} at byte {exc.start}") from exc


CsvText = Annotated[str, Depends(csv_text)]


def _rows_invalid(errors: list[RowError]) -> Problem:
    return invalid([(f"row {e.row}.{e.column}", e.message) for e in errors])


@router.post(
    "/reps/import",
    status_code=201,
    response_model=RepsImported,
    tags=["reps"],
    summary="Add reps from a CSV file, all or nothing (422 lists every bad row and column)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "name,email,weight,territories,working_hours\n"
                    "Ann Seller,ann@seller.example,2,EMEA;US,mon-fri 09:00-17:00\n",
                }
            },
        }
    },
    responses={415: {"description": "Not a text/csv body"}},
    description=roles_text("admin"),
)
async def import_reps(a: A, _: AdminOnly, text: CsvText) -> RepsImported:
    parsed = parse_reps_csv(text)
    if not parsed.ok:
        raise _rows_invalid(parsed.errors)
    docs = [(n, rep.model_dump(mode="json")) for n, rep in parsed.reps]
    try:
        rows = await admin.import_reps(a, docs)
    except admin.ImportRejected as exc:
        raise _rows_invalid(exc.errors) from exc
    return RepsImported(created=len(rows), reps=[_rep_out(row, 0) for row in rows])


@router.get(
    "/reps",
    response_model=list[RepOut],
    tags=["reps"],
    summary="List reps",
    description=roles_text("admin", "analyst"),
)
async def list_reps(a: A, _: Reader) -> list[RepOut]:
    return [_rep_out(row, n) for row, n in await admin.list_reps(a)]


@router.get(
    "/reps/{rep_id}",
    response_model=RepOut,
    tags=["reps"],
    responses=NOT_FOUND,
    summary="A rep and their open leads",
    description=roles_text("admin", "analyst"),
)
async def get_rep(rep_id: uuid.UUID, a: A, _: Reader) -> RepOut:
    return _rep_out(*await admin.get_rep(a, rep_id))


@router.patch(
    "/reps/{rep_id}",
    response_model=RepOut,
    tags=["reps"],
    responses=NOT_FOUND,
    summary="Change a rep (fields left out stay); queued leads are routed again",
    description=roles_text("admin"),
)
async def update_rep(rep_id: uuid.UUID, body: RepPatch, a: A, _: AdminOnly) -> RepOut:
    try:
        await admin.update_rep(a, rep_id, body.changes())
        return _rep_out(*await admin.get_rep(a, rep_id))
    except ValueError as exc:
        raise _invalid("body", str(exc)) from exc


@router.delete(
    "/reps/{rep_id}",
    status_code=204,
    tags=["reps"],
    responses=NOT_FOUND,
    summary="Retire a rep; their unaccepted leads are routed to others",
    description=roles_text("admin"),
)
async def delete_rep(rep_id: uuid.UUID, a: A, _: AdminOnly) -> Response:
    await admin.delete_rep(a, rep_id)
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
    responses={**NOT_FOUND, 403: {"description": "A rep token: not its lead, or retired"}},
    summary="Who owns a lead, why, and its history",
    description=roles_text("admin", "analyst", "sales_tool", "rep"),
)
async def get_assignment(lead_id: uuid.UUID, a: A, p: SalesReader) -> AssignmentOut:
    view = await admin.get_assignment(a, lead_id)
    only_own(p, view.row.rep_id)  # a rep reads only what is assigned to them
    if p.role == "rep" and not admin.may_act(view.rep):
        raise admin.RepRetired
    return _assignment_out(view)


@router.post(
    "/assignments/{lead_id}/accept",
    response_model=AssignmentOut,
    tags=["assignments"],
    responses={
        **NOT_FOUND,
        403: {"description": "A rep token for another rep's lead, or of a retired rep"},
        409: {"description": "Not awaiting acceptance"},
    },
    summary="The rep took the lead (stops SLA re-routing)",
    description=roles_text("admin", "sales_tool", "rep"),
)
async def accept(lead_id: uuid.UUID, a: A, p: SalesActor) -> AssignmentOut:
    return _assignment_out(await admin.accept(a, lead_id, only_rep=rep_of(p)))


@router.post(
    "/assignments/{lead_id}/decline",
    response_model=DeclineOut,
    tags=["assignments"],
    responses={
        **NOT_FOUND,
        403: {"description": "A rep token for a lead assigned to another rep"},
        409: {"description": "Not awaiting acceptance (accepted, queued, closed or erased)"},
    },
    summary="The rep will not take the lead: routed at once to the next eligible rep "
    "(never the decliner again), else queued; a repeat is answered as the first time",
    description=roles_text("admin", "sales_tool", "rep"),
)
async def decline(
    lead_id: uuid.UUID, a: A, p: SalesActor, body: DeclineIn | None = None
) -> DeclineOut:
    body = body or DeclineIn()
    done = await declining.decline(
        a, lead_id, note=body.reason or None, rep_id=body.rep_id, only_rep=rep_of(p)
    )
    return DeclineOut(
        lead_id=done.lead_id,
        declined_by=done.rep_id,
        reason=done.note,
        declined_at=done.at,
        outcome=done.outcome,
    )
