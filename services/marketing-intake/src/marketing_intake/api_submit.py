"""What browsers post: form submissions (urlencoded, multipart or JSON) and CORS preflight."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.formparsers import MultiPartException

from leadflow.edge import client_key
from leadflow.http import Problem, invalid
from leadflow.leadbody.normalize import LeadInvalid, is_honeypot_filled
from leadflow.service import Runtime
from marketing_intake import handlers
from marketing_intake import handlers_forms as forms
from marketing_intake.deps import RT, check_rate, lead_invalid, limits
from marketing_intake.metrics import SUBMISSIONS_DROPPED
from marketing_intake.models import WebForm
from marketing_intake.schemas import SubmissionAccepted
from marketing_intake.webforms import (
    clean_submission,
    filled_too_fast,
    flatten,
    origin_allowed,
    request_origin,
    with_lead_id,
)

router = APIRouter(prefix="/v1/forms", tags=["web forms"])

_FORM_BODY = {"type": "object", "additionalProperties": {"type": "string"}}
_SUBMISSION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": _FORM_BODY},
            "multipart/form-data": {"schema": _FORM_BODY},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}
_PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}
_THANKS = "<!doctype html><meta charset=utf-8><title>Thank you</title><p>Thank you!</p>\n"


async def _form(rt: Runtime, form_id: uuid.UUID) -> WebForm:
    form = await forms.get_form(rt, form_id)
    if form is None:
        raise Problem(404, "Not Found", "No form with this id.")
    return form


def _origin_checked(request: Request, form: WebForm) -> dict[str, str]:
    """403 unless the post comes from an allowed origin; the CORS headers to answer with."""
    origin = request_origin(request.headers.get("origin"), request.headers.get("referer"))
    if not origin_allowed(origin, form.allowed_origins):
        raise Problem(403, "Forbidden", "This origin may not post this form.")
    sent = request.headers.get("origin")
    return {"Access-Control-Allow-Origin": sent, "Vary": "Origin"} if sent else {"Vary": "Origin"}


async def _read_fields(request: Request) -> dict[str, Any]:
    """The posted fields as a dict: urlencoded or multipart (flattened), or a JSON object."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise invalid([("body", "is not valid JSON")]) from exc
        except RecursionError as exc:  # the decoder's C stack guard: `[[[[…` 100,000 deep
            raise invalid([("body", "is nested too deeply")]) from exc
        if not isinstance(data, dict):
            raise invalid([("body", "must be a JSON object")])
        return data
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            async with request.form() as form:
                pairs = form.multi_items()
        except MultiPartException as exc:
            raise invalid([("body", f"is not a valid form body: {exc.message}")]) from exc
        uploads = [k for k, v in pairs if not isinstance(v, str)]
        if uploads:
            raise invalid((k, "file uploads are not accepted") for k in dict.fromkeys(uploads))
        return flatten(pairs)
    raise Problem(
        415,
        "Unsupported Media Type",
        "Post application/x-www-form-urlencoded, multipart/form-data or application/json.",
    )


@dataclass(frozen=True)
class Posted:
    """A form post let through: its form, the CORS headers to answer with, its fields."""

    form: WebForm
    cors: dict[str, str]
    fields: dict[str, Any]


async def posted(form_id: uuid.UUID, request: Request, rt: RT) -> Posted:
    """The form (404), posted from an allowed origin (403), by a client within its rate (429),
    its fields read (413, 415, 422); every refusal after the origin check carries CORS headers,
    so the page's script may read why."""
    form = await _form(rt, form_id)
    cors = _origin_checked(request, form)
    try:
        check_rate(limits(request).form, f"{form.id}|{client_key(request)}", "form", {})
        fields = await _read_fields(request)
    except Problem as exc:
        exc.headers.update(cors)
        raise
    return Posted(form, cors, fields)


Submission = Annotated[Posted, Depends(posted)]


@router.options(
    "/{form_id}/submissions",
    status_code=204,
    response_class=Response,
    summary="CORS preflight: answered for the form's allowed origins only (403 otherwise)",
    responses={403: {"content": _PROBLEM}, 404: {"content": _PROBLEM}},
)
async def preflight(form_id: uuid.UUID, request: Request, rt: RT) -> Response:
    form = await _form(rt, form_id)
    cors = _origin_checked(request, form)
    asked = request.headers.get("access-control-request-headers", "content-type, accept")
    return Response(
        status_code=204,
        headers={
            **cors,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": asked,
            "Access-Control-Max-Age": "600",
        },
    )


@router.post(
    "/{form_id}/submissions",
    status_code=202,
    response_model=SubmissionAccepted,
    summary="Post a web form (what a browser sends; no secret)",
    description=(
        "The Origin (or, without one, the Referer) must be one of the form's allowed origins. "
        "A browser form post (Accept: text/html) is answered 303 to the form's redirect_url "
        "with `?lead_id=…` (200 and a thank-you page without one); scripts get 202 JSON. "
        "Posts that fill the honeypot or beat the minimum fill time get the same answer but "
        "are dropped (counted in `/metrics`). A post by a person already known (a new touch "
        "of their lead) is answered with the post's own id, never the existing lead's. "
        "Per client address (an IPv6 client per /64) and form, posts are "
        "rate-limited (429 with Retry-After); behind LEADFLOW_TRUSTED_PROXIES the client "
        "address is the right-most X-Forwarded-For hop not a trusted proxy, else the peer's."
    ),
    openapi_extra=_SUBMISSION_BODY,
    responses={
        200: {"description": "Accepted (HTML post, no redirect_url)", "content": {"text/html": {}}},
        303: {"description": "Accepted (HTML post): see redirect_url"},
        403: {"description": "Origin not allowed", "content": _PROBLEM},
        404: {"description": "No form with this id", "content": _PROBLEM},
        413: {"description": "Body too large", "content": _PROBLEM},
        415: {"description": "Not a form or JSON body", "content": _PROBLEM},
        422: {"description": "Invalid fields, each named", "content": _PROBLEM},
        429: {"description": "Too many posts; see Retry-After", "content": _PROBLEM},
    },
)
async def submit(post: Submission, request: Request, rt: RT) -> Response:
    form, cors = post.form, post.cors
    try:
        lead_id = await _accept(rt, form, post.fields)
    except Problem as exc:
        exc.headers.update(cors)  # so the page's script may read why
        raise
    if "text/html" in request.headers.get("accept", ""):
        if form.redirect_url:
            target = with_lead_id(form.redirect_url, str(lead_id))
            return RedirectResponse(target, status_code=303, headers=cors)
        return HTMLResponse(_THANKS, headers=cors)
    # No `duplicate` here: a public form must not tell who is already known.
    return JSONResponse({"lead_id": str(lead_id), "status": "accepted"}, 202, headers=cors)


async def _accept(rt: Runtime, form: WebForm, raw: dict[str, Any]) -> uuid.UUID:
    """The id to answer: the lead's if this post made it, else the post's own (a touch, or a
    bot's post, dropped and counted), tied to nothing."""
    spec = forms.form_spec(form)
    if is_honeypot_filled(raw, spec):
        SUBMISSIONS_DROPPED.labels("honeypot").inc()
        return uuid.uuid4()
    if filled_too_fast(raw, form.min_fill_seconds, time.time() * 1000):
        SUBMISSIONS_DROPPED.labels("too_fast").inc()
        return uuid.uuid4()
    cleaned = clean_submission(raw, form.field_map)
    if form.consent_text and not cleaned.get("consent_text"):
        cleaned["consent_text"] = form.consent_text
    try:
        accepted = await handlers.accept_lead(rt, cleaned, source="web_form", form=spec)
    except LeadInvalid as exc:
        raise lead_invalid(exc) from exc
    # A touch of a known lead is answered with its own fresh id, never the lead's: an
    # anonymous post with someone's email must not learn their lead id.
    return accepted.submission_id
