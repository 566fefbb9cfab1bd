"""Web form routes (admin): create, list, read, change, delete; and the embed page."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from leadflow.access import AdminOnly, roles_text
from leadflow.http import Problem, invalid
from marketing_intake import handlers_forms as forms
from marketing_intake.deps import RT
from marketing_intake.embed import embed_page, snippet
from marketing_intake.models import WebForm
from marketing_intake.schemas import FormIn, FormOut, FormPatch
from marketing_intake.settings import IntakeSettings

router = APIRouter(prefix="/v1/forms", tags=["web forms"])
Responses = dict[int | str, dict[str, Any]]
_NOT_FOUND: Responses = {404: {"description": "No form with this id"}}
_INVALID: Responses = {422: {"description": "Invalid settings, each field named"}}


def base_url(request: Request) -> str:
    """Where browsers reach this service: the `public_url` setting, never the Host header
    (a hostile Host would otherwise make the embed snippet post elsewhere)."""
    settings = request.app.state.settings
    assert isinstance(settings, IntakeSettings)
    return settings.public_url


def form_out(form: WebForm, request: Request) -> FormOut:
    base = f"{base_url(request)}/v1/forms/{form.id}"
    return FormOut(
        form_id=form.id,
        name=form.name,
        allowed_origins=form.allowed_origins,
        redirect_url=form.redirect_url,
        field_map=form.field_map,
        required=form.required,
        honeypot_field=form.honeypot_field,
        require_consent=form.require_consent,
        consent_text=form.consent_text,
        min_fill_seconds=form.min_fill_seconds,
        submit_url=f"{base}/submissions",
        embed_url=f"{base}/embed",
        created_at=form.created_at,
        updated_at=form.updated_at,
    )


@router.post(
    "",
    status_code=201,
    response_model=FormOut,
    summary="Create a web form",
    description="Field map targets and `required` must be lead fields or `custom.<name>`. "
    + roles_text("admin"),
    responses=_INVALID,
)
async def create_form(body: FormIn, request: Request, rt: RT, _: AdminOnly) -> FormOut:
    try:
        form = await forms.create_form(rt, body.model_dump())
    except forms.FormInvalid as exc:
        raise invalid(exc.errors) from exc
    return form_out(form, request)


@router.get(
    "",
    response_model=list[FormOut],
    summary="List web forms",
    description=roles_text("admin"),
)
async def list_forms(request: Request, rt: RT, _: AdminOnly) -> list[FormOut]:
    return [form_out(f, request) for f in await forms.list_forms(rt)]


@router.get(
    "/{form_id}",
    response_model=FormOut,
    summary="Read a web form",
    responses=_NOT_FOUND,
    description=roles_text("admin"),
)
async def get_form(form_id: uuid.UUID, request: Request, rt: RT, _: AdminOnly) -> FormOut:
    form = await forms.get_form(rt, form_id)
    if form is None:
        raise Problem(404, "Not Found", "No form with this id.")
    return form_out(form, request)


@router.patch(
    "/{form_id}",
    response_model=FormOut,
    summary="Change a web form (only the fields sent)",
    responses={**_NOT_FOUND, **_INVALID},
    description=roles_text("admin"),
)
async def update_form(
    form_id: uuid.UUID, body: FormPatch, request: Request, rt: RT, _: AdminOnly
) -> FormOut:
    try:
        form = await forms.update_form(rt, form_id, body.model_dump(exclude_unset=True))
    except forms.FormInvalid as exc:
        raise invalid(exc.errors) from exc
    if form is None:
        raise Problem(404, "Not Found", "No form with this id.")
    return form_out(form, request)


@router.delete(
    "/{form_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a web form (its leads stay; later posts get 404)",
    responses=_NOT_FOUND,
    description=roles_text("admin"),
)
async def delete_form(form_id: uuid.UUID, rt: RT, _: AdminOnly) -> Response:
    if not await forms.delete_form(rt, form_id):
        raise Problem(404, "Not Found", "No form with this id.")
    return Response(status_code=204)


@router.get(
    "/{form_id}/embed",
    response_class=HTMLResponse,
    summary="The form's embed snippet: an HTML page with the <form> to paste and a live copy",
    description="Public (the snippet holds nothing secret): open it in a browser. Its form "
    "posts to LEADFLOW_PUBLIC_URL, never to the request's Host.",
    responses={200: {"content": {"text/html": {}}}, **_NOT_FOUND},
)
async def embed(form_id: uuid.UUID, request: Request, rt: RT) -> HTMLResponse:
    form = await forms.get_form(rt, form_id)
    if form is None:
        raise Problem(404, "Not Found", "No form with this id.")
    spec = forms.embed_form(form)
    markup = snippet(spec, f"{base_url(request)}/v1/forms/{form.id}/submissions")
    return HTMLResponse(embed_page(spec, markup))
