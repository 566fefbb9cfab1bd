"""Lead API routes: one lead, a batch, export and erasure."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from leadflow.access import AdminOnly, roles_text
from leadflow.http import Problem, field_name
from leadflow.leadbody.normalize import FieldError, LeadInvalid
from leadflow.leadbody.schema import LeadIn
from leadflow.service import Runtime
from marketing_intake import handlers, handlers_erasure
from marketing_intake.deps import KEY_CREDENTIAL, RT, KeyAuth, KeyOrAdmin, lead_invalid
from marketing_intake.schemas import AcceptedOut, BatchIn, BatchOut, LeadExport

router = APIRouter(prefix="/v1/leads", tags=["leads"])

_IDEMPOTENCY_KEY_MAX = 200
_IDEMPOTENCY_DESCRIPTION = (
    "A repeat with the same key and body returns the first answer, for"
    " LEADFLOW_IDEMPOTENCY_TTL_HOURS (24 by default)"
)
IdempotencyKey = Annotated[
    str | None, Header(max_length=_IDEMPOTENCY_KEY_MAX, description=_IDEMPOTENCY_DESCRIPTION)
]
_IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "Idempotency-Key reused with another body"},
    429: {
        "description": "Rate limit of this API key reached, or too many failed credential"
        " checks from this address; see Retry-After"
    },
}


async def _idempotent(
    rt: Runtime,
    request: Request,
    owner: str,
    idempotency_key: str | None,
    run: Callable[[handlers.Remember | None], Awaitable[Response]],
) -> Response:
    """Run once per Idempotency-Key: a repeat (even a concurrent one) gets the first answer."""
    if not idempotency_key:
        return await run(None)
    request_hash = hashlib.sha256(await request.body()).hexdigest()

    async def previous() -> Response | None:
        stored = await handlers.replay(rt, owner, idempotency_key)
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise Problem(409, "Conflict", "Idempotency-Key was used with a different body.")
        return JSONResponse(
            stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
        )

    if (answer := await previous()) is not None:
        return answer
    remember = handlers.Remember(owner, idempotency_key, request_hash)
    try:
        return await run(remember)
    except IntegrityError:
        # A twin with the same key committed first; its transaction is the one that counts.
        if (answer := await previous()) is not None:
            return answer
        raise


@router.post(
    "",
    status_code=202,
    response_model=AcceptedOut,
    summary="Submit a lead",
    description=(
        "Validates and normalises the lead, then stores it together with its "
        "`leads.captured` event in one transaction before answering 202: an accepted lead "
        "is never lost. The same email within the duplicate window is the same lead: "
        "sent again with this key, a new touch (`duplicate: true`, the lead's id; it fills "
        "only the lead's empty fields). A person whose lead another key or a web form "
        "captured is answered as a new one (its own id, `duplicate: false`): the lead gets a "
        "touch without this request's fields, and this key reads what it sent under that "
        "id. With `Idempotency-Key`, a repeat of the same "
        "request returns the first answer. " + KEY_CREDENTIAL
    ),
    responses={422: {"description": "Invalid fields, each named"}, **_IDEMPOTENCY_RESPONSES},
)
async def submit_lead(
    body: LeadIn, request: Request, rt: RT, key: KeyAuth, idempotency_key: IdempotencyKey = None
) -> Response:
    raw = body.model_dump(exclude_unset=True)

    async def run(remember: handlers.Remember | None) -> Response:
        try:
            accepted = await handlers.accept_lead(
                rt, raw, source="api", remember=remember, key_id=key.id
            )
        except LeadInvalid as exc:
            raise lead_invalid(exc) from exc
        return Response(handlers.accepted_json(accepted), 202, media_type="application/json")

    return await _idempotent(rt, request, str(key.id), idempotency_key, run)


@router.post(
    "/batch",
    response_model=BatchOut,
    summary="Submit up to 500 leads (a list import); one result per lead",
    description=(
        "Each lead is validated on its own: the answer has one result per lead, in order, "
        "`accepted` (with `lead_id` and `duplicate`, as for a single lead) or `invalid` "
        "(with its `errors`). Every "
        "accepted lead is stored with its event in ONE transaction before the answer. More "
        "than 500 leads: 422. `Idempotency-Key` works as for a single lead. " + KEY_CREDENTIAL
    ),
    responses={422: {"description": "Not a list of 1 to 500 leads"}, **_IDEMPOTENCY_RESPONSES},
)
async def submit_batch(
    body: BatchIn, request: Request, rt: RT, key: KeyAuth, idempotency_key: IdempotencyKey = None
) -> Response:
    items: list[dict[str, Any] | list[FieldError]] = []
    for raw in body.leads:
        try:
            items.append(LeadIn.model_validate(raw).model_dump(exclude_unset=True))
        except ValidationError as exc:
            items.append([FieldError(field_name(e["loc"]), e["msg"]) for e in exc.errors()])

    async def run(remember: handlers.Remember | None) -> Response:
        if remember is not None:
            remember = handlers.Remember(remember.owner, remember.key, remember.request_hash, 200)
        results = await handlers.accept_batch(
            rt, items, source="api", remember=remember, key_id=key.id
        )
        return JSONResponse(handlers.batch_body(results))

    return await _idempotent(rt, request, str(key.id), idempotency_key, run)


@router.get(
    "/{lead_id:uuid}",
    response_model=LeadExport,
    summary="Export a lead (personal data access request)",
    description=(
        "The admin reads every lead; an `lf_sk_` API key only the leads captured with that "
        "same key (404 for any other, as for an unknown id). "
        + roles_text("admin")
        + " Or an `lf_sk_` API key."
    ),
    responses={
        404: {"description": "No lead with this id (that this key captured)"},
        429: {"description": "Too many failed credential checks from this address"},
    },
)
async def get_lead(lead_id: uuid.UUID, rt: RT, key: KeyOrAdmin) -> LeadExport:
    stored = await handlers_erasure.export_lead(rt, lead_id, key_id=key.id if key else None)
    if stored is None:
        raise Problem(404, "Not Found", "No lead with this id.")
    return LeadExport(
        lead_id=stored.lead_id,
        lead=handlers_erasure.stored_lead(stored),
        touches=stored.touches,
        captured_at=stored.captured_at,
        last_touch_at=stored.last_touch_at,
        erased_at=stored.erased_at,
    )


@router.delete(
    "/{lead_id:uuid}",
    status_code=202,
    summary="Erase a lead's personal data everywhere (publishes leads.erased)",
    description=roles_text("admin"),
    responses={404: {"description": "No lead with this id"}},
)
async def erase_lead(lead_id: uuid.UUID, rt: RT, _: AdminOnly) -> dict[str, str]:
    if not await handlers_erasure.erase_lead(rt, lead_id):
        raise Problem(404, "Not Found", "No lead with this id.")
    return {"lead_id": str(lead_id), "status": "erasing"}
