"""Validate and normalise a submitted lead (JSON API body or mapped web form) into a `Lead`.

Pure: no I/O, no framework. Every bad field is reported at once in `LeadInvalid.errors`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from leadflow.events import Attribution, Consent, Lead
from leadflow.leadbody import fields
from leadflow.limits import (
    COMPANY_CHARS,
    CUSTOM_FIELDS,
    EMAIL_CHARS,
    NAME_CHARS,
    PHONE_CHARS,
    TEXT_CHARS,
    TITLE_CHARS,
    URL_CHARS,
)

__all__ = [
    "MAPPABLE_FIELDS",
    "FieldError",
    "FormSpec",
    "LeadInvalid",
    "dedupe_key",
    "is_honeypot_filled",
    "normalize_lead",
]

_CONTACT = ("email", "first_name", "last_name", "phone", "company", "job_title", "company_size")
_FIRMOGRAPHIC = ("industry", "country", "website")
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_ATTRIBUTION = ("source", "form_id", *_UTM, "referrer", "landing_page")
_CONSENT = {
    "marketing": "consent_marketing",
    "text": "consent_text",
    "granted_at": "consent_granted_at",
}
# What a form's field_map may point at and `required` may name; anything else is custom.
MAPPABLE_FIELDS: frozenset[str] = frozenset(
    (*_CONTACT, *_FIRMOGRAPHIC, *_ATTRIBUTION, *_CONSENT.values())
)
# Intake assigns these itself; a body echoing a stored lead back must not trip over them.
_IGNORED = frozenset({"lead_id", "captured_at", "email_domain"})

_MAX_CHARS = {
    "first_name": NAME_CHARS, "last_name": NAME_CHARS, "company": COMPANY_CHARS,
    "job_title": TITLE_CHARS, "industry": NAME_CHARS, "website": URL_CHARS,
    "referrer": URL_CHARS, "landing_page": URL_CHARS, "source": NAME_CHARS,
    "form_id": NAME_CHARS, "consent_text": TEXT_CHARS, "phone": PHONE_CHARS,
    "country": NAME_CHARS, "email": EMAIL_CHARS,
    **dict.fromkeys(_UTM, COMPANY_CHARS),
}  # fmt: skip
_COLLAPSED = frozenset({"first_name", "last_name", "company", "job_title", "industry"})
_MAX_CUSTOM_KEY = 64
_GMAIL = frozenset({"gmail.com", "googlemail.com"})
_PERSON = (*_CONTACT, *_FIRMOGRAPHIC)

# Each known field's parser: (value, country already parsed, capture time) → normalised.
_Parser = Callable[[Any, "str | None", datetime], Any]


def _text_parser(name: str) -> _Parser:
    limit, collapse = _MAX_CHARS[name], name in _COLLAPSED
    return lambda value, _region, _now: fields.text(value, limit, collapse=collapse)


_PARSERS: dict[str, _Parser] = {
    **{name: _text_parser(name) for name in _MAX_CHARS},
    "email": lambda v, _r, _n: fields.email(fields.text(v, _MAX_CHARS["email"])),
    "country": lambda v, _r, _n: fields.country(fields.text(v, _MAX_CHARS["country"])),
    "phone": lambda v, region, _n: fields.phone(fields.text(v, _MAX_CHARS["phone"]), region),
    "company_size": lambda v, _r, _n: fields.company_size(v),
    "website": lambda v, _r, _n: fields.website(fields.text(v, _MAX_CHARS["website"])),
    "consent_marketing": lambda v, _r, _n: fields.boolean(v),
    "consent_granted_at": lambda v, _r, now: fields.instant(v, now),
}
# The order errors are reported in; the country comes before the phone it is the hint for.
_PARSE_ORDER = (
    "email", "first_name", "last_name", "country", "phone", "company", "job_title",
    "company_size", "industry", "website", *_ATTRIBUTION, *_CONSENT.values(),
)  # fmt: skip
assert set(_PARSE_ORDER) == set(_PARSERS) == MAPPABLE_FIELDS


@dataclass(frozen=True)
class FieldError:
    """One bad field, named as the submitter sent it (form field name when mapped)."""

    field: str
    message: str


class LeadInvalid(ValueError):
    """The submission has bad fields; `errors` lists every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class FormSpec:
    """How a web form's fields become lead fields."""

    form_id: str
    field_map: dict[str, str] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    require_consent: bool = False
    honeypot_field: str | None = None


_Given = tuple[str, Any]  # (label the submitter used, raw value)


def is_honeypot_filled(raw: Mapping[str, Any], form: FormSpec | None) -> bool:
    """Whether a bot filled the form's hidden honeypot field."""
    if form is None or not form.honeypot_field:
        return False
    return not fields.blank(raw.get(form.honeypot_field))


def dedupe_key(email: str) -> str:
    """The identity of a mailbox: lower-cased, +tags dropped, and Gmail's dots ignored."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    # Plus-addressing is a tag on the same mailbox at every major provider; a false merge of
    # two people sharing "a+x@" and "a+y@" is far rarer than one person using tags.
    local = local.split("+", 1)[0] or local
    if domain in _GMAIL:  # Gmail alone ignores dots and treats googlemail.com as gmail.com
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def normalize_lead(
    raw: Mapping[str, Any],
    *,
    lead_id: UUID,
    captured_at: datetime,
    form: FormSpec | None = None,
    custom_max_bytes: int = 4096,
    source: str | None = None,
) -> Lead:
    """Validate and normalise a submission into a Lead; raise LeadInvalid with every bad field."""
    if captured_at.tzinfo is None:
        captured_at = captured_at.replace(tzinfo=UTC)
    errors: list[FieldError] = []
    given, custom_given = _gather(raw, form, errors)
    values: dict[str, Any] = {}
    region: str | None = None  # the country, once parsed: the phone number's hint
    for name in _PARSE_ORDER:
        if name not in given:
            continue
        label, value = given[name]
        try:
            values[name] = _PARSERS[name](value, region, captured_at)
        except fields.Bad as exc:
            errors.append(FieldError(label, str(exc)))
        else:
            if name == "country":
                region = values[name]
    custom = _custom(custom_given, custom_max_bytes, errors)
    attribution = {name: values.get(name) for name in _ATTRIBUTION}
    marketing = values.get("consent_marketing") or False
    consent_text = values.get("consent_text")
    granted_at = values.get("consent_granted_at")

    # Body UTMs win; the landing page's query fills only the gaps (truncated, never an error:
    # the visitor chose neither the URL nor its length).
    landing_utms = fields.query_params(attribution["landing_page"])
    for name in _UTM:
        if attribution[name] is None and (found := landing_utms.get(name)):
            attribution[name] = found[: _MAX_CHARS[name]]
    if form is not None:
        attribution["form_id"] = form.form_id
    attribution["source"] = attribution["source"] or source

    person = {name: values.get(name) for name in _PERSON}
    normalised = {
        **person, **attribution, "consent_marketing": marketing,
        "consent_text": consent_text, "consent_granted_at": granted_at,
    }  # fmt: skip
    required = ["email", *(form.required if form else ())]
    if form is not None and form.require_consent:
        required.append("consent_marketing")
    bad = {e.field for e in errors}
    for name in dict.fromkeys(required):
        label = _label(name, given, form)
        if name in normalised:
            present = bool(normalised[name])
        else:  # a form may also require one of its custom fields
            present = not fields.blank(custom.get(name.removeprefix("custom.")))
        if not present and label not in bad:
            message = "consent is required" if name == "consent_marketing" else "is required"
            errors.append(FieldError(label, message))
    if errors:
        raise LeadInvalid(errors)
    return Lead(
        lead_id=lead_id,
        **person,
        attribution=Attribution(**attribution),
        consent=Consent(
            marketing=marketing,
            text=consent_text,
            # Consent not given has no grant time, whatever the form claimed.
            granted_at=(granted_at or captured_at) if marketing else None,
        ),
        custom=custom,
        captured_at=captured_at,
    )


# ---------------------------------------------------------------- gathering


def _gather(
    raw: Mapping[str, Any], form: FormSpec | None, errors: list[FieldError]
) -> tuple[dict[str, _Given], dict[str, _Given]]:
    """Split the submission into known fields and custom ones, each with its label."""
    field_map = form.field_map if form else {}
    honeypot = form.honeypot_field if form else None
    flat: list[tuple[str, str, Any]] = []  # (target, label, value), lowest precedence first
    nested: list[tuple[str, str, Any]] = []
    mapped: list[tuple[str, str, Any]] = []
    loose: list[tuple[str, str, Any]] = []
    explicit: list[tuple[str, str, Any]] = []
    for key, value in raw.items():
        if key == honeypot or key in _IGNORED:
            continue
        if key in ("attribution", "consent", "custom") and value is None:
            continue  # JSON null: the same as not sent
        if key in field_map:
            target = field_map[key]
            if target in MAPPABLE_FIELDS:
                mapped.append((target, key, value))
            else:  # mapping to a custom name renames it ("custom.x" or plain "x")
                explicit.append((target.removeprefix("custom."), key, value))
        elif key in ("attribution", "consent", "custom") and isinstance(value, Mapping):
            for sub, sub_value in value.items():
                label = f"{key}.{sub}"
                if key == "custom":
                    explicit.append((str(sub), label, sub_value))
                elif key == "attribution" and sub in _ATTRIBUTION:
                    nested.append((sub, label, sub_value))
                elif key == "consent" and sub in _CONSENT:
                    nested.append((_CONSENT[sub], label, sub_value))
                else:
                    errors.append(FieldError(label, "is not a known field"))
        elif key == "consent":  # a lone checkbox named "consent"
            flat.append(("consent_marketing", key, value))
        elif key in ("attribution", "custom"):
            errors.append(FieldError(key, "must be an object"))
        elif key in MAPPABLE_FIELDS:
            flat.append((key, key, value))
        else:
            loose.append((key, key, value))
    return _merge(flat, nested, mapped), _merge(loose, explicit)


def _merge(*layers: list[tuple[str, str, Any]]) -> dict[str, _Given]:
    """Later layers win, but a blank value never hides a filled one."""
    merged: dict[str, _Given] = {}
    for layer in layers:
        for target, label, value in layer:
            if target not in merged or not fields.blank(value):
                merged[target] = (label, value)
    return merged


def _label(name: str, given: Mapping[str, _Given], form: FormSpec | None) -> str:
    """What to call a field in an error: as sent, else the form field mapped to it."""
    if name in given:
        return given[name][0]
    for form_field, target in (form.field_map if form else {}).items():
        if target == name:
            return form_field
    return name


# ---------------------------------------------------------------- custom fields


def _custom(
    given: Mapping[str, _Given], max_bytes: int, errors: list[FieldError]
) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    # Extra fields are counted before any is read: thousands of them would each be an error.
    if len(given) > CUSTOM_FIELDS:
        errors.append(FieldError("custom", f"at most {CUSTOM_FIELDS} extra fields"))
        return custom
    for key, (label, value) in given.items():
        if len(key) > _MAX_CUSTOM_KEY:
            errors.append(FieldError(label[:_MAX_CUSTOM_KEY] + "…", "name is too long"))
            continue
        try:
            fields.unicode(key)
            fields.check_json(value, depth=0)
        except fields.Bad as exc:
            errors.append(FieldError(label, str(exc)))
            continue
        custom[key] = value
    size = len(json.dumps(custom, ensure_ascii=False, separators=(",", ":")).encode())
    if size > max_bytes:
        errors.append(FieldError("custom", f"extra fields take {size} bytes, at most {max_bytes}"))
    return custom
