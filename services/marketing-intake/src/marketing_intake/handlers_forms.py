"""marketing-intake's web form use cases: create, read, change and delete forms."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from leadflow.leadbody.normalize import FormSpec
from leadflow.service import Runtime
from marketing_intake import repo
from marketing_intake.embed import EmbedForm
from marketing_intake.models import WebForm
from marketing_intake.webforms import check_settings

_NOT_NULL = (
    "name", "allowed_origins", "field_map", "required", "require_consent", "min_fill_seconds",
)  # fmt: skip


class FormInvalid(ValueError):
    """Bad form settings; `errors` lists each as (field, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def _apply(form: WebForm, values: Mapping[str, Any]) -> None:
    """Check the settings as a whole and write them to `form` (raises FormInvalid)."""
    checked = ("field_map", "required", "honeypot_field", "allowed_origins", "redirect_url")
    merged = {name: values.get(name, getattr(form, name)) for name in checked}
    nulls = [(k, "must not be null") for k in _NOT_NULL if k in values and values[k] is None]
    origins, errors = check_settings(
        field_map=merged["field_map"] or {},
        required=merged["required"] or [],
        honeypot_field=merged["honeypot_field"],
        allowed_origins=merged["allowed_origins"] or [],
        redirect_url=merged["redirect_url"],
    )
    errors = nulls + [e for e in errors if e[0] not in {n for n, _ in nulls}]
    if errors:
        raise FormInvalid(errors)
    for name, value in values.items():
        setattr(form, name, value)
    form.allowed_origins = origins
    form.required = list(dict.fromkeys(form.required))
    form.updated_at = datetime.now(UTC)


async def create_form(rt: Runtime, values: Mapping[str, Any]) -> WebForm:
    now = datetime.now(UTC)
    form = WebForm(
        id=uuid.uuid4(),
        allowed_origins=[],
        redirect_url=None,
        field_map={},
        required=[],
        honeypot_field=None,
        require_consent=False,
        consent_text=None,
        min_fill_seconds=0.0,
        created_at=now,
        updated_at=now,
    )
    _apply(form, values)
    async with rt.transaction() as uow:
        s = uow.session
        s.add(form)
    return form


async def list_forms(rt: Runtime) -> list[WebForm]:
    async with rt.sessions() as s:
        return await repo.list_forms(s)


async def get_form(rt: Runtime, form_id: uuid.UUID) -> WebForm | None:
    async with rt.sessions() as s:
        return await repo.get_form(s, form_id)


async def update_form(rt: Runtime, form_id: uuid.UUID, values: Mapping[str, Any]) -> WebForm | None:
    """Change the fields given (raises FormInvalid); None if no such form."""
    async with rt.transaction() as uow:
        s = uow.session
        form = await repo.get_form(s, form_id)
        if form is not None:
            _apply(form, values)
    return form


async def delete_form(rt: Runtime, form_id: uuid.UUID) -> bool:
    """Delete a form: later posts to it get 404. Leads it captured stay."""
    async with rt.transaction() as uow:
        s = uow.session
        return await repo.delete_form(s, form_id)


def form_spec(form: WebForm) -> FormSpec:
    return FormSpec(
        form_id=str(form.id),
        field_map=dict(form.field_map),
        required=list(form.required),
        require_consent=form.require_consent,
        honeypot_field=form.honeypot_field,
    )


def embed_form(form: WebForm) -> EmbedForm:
    return EmbedForm(
        form_id=str(form.id),
        name=form.name,
        field_map=dict(form.field_map),
        required=list(form.required),
        honeypot_field=form.honeypot_field,
        require_consent=form.require_consent,
        consent_text=form.consent_text,
    )
