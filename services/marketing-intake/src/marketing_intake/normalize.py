"""Validate and normalise a submitted lead (JSON API body or mapped web form) into a `Lead`.

Pure: no I/O, no framework. Every bad field is reported at once in `LeadInvalid.errors`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from leadflow.events import Attribution, Consent, Lead
from marketing_intake.countries import country_code

__all__ = [
    "MAPPABLE_FIELDS",
    "FieldError",
    "FormSpec",
    "LeadInvalid",
    "dedupe_key",
    "is_honeypot_filled",
    "normalize_lead",
]

T = TypeVar("T")

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
    "first_name": 100, "last_name": 100, "company": 200, "job_title": 150, "industry": 100,
    "website": 2048, "referrer": 2048, "landing_page": 2048, "source": 100, "form_id": 100,
    "consent_text": 2000, "phone": 64, "country": 100, "email": 320,
    **dict.fromkeys(_UTM, 200),
}  # fmt: skip
_COLLAPSED = frozenset({"first_name", "last_name", "company", "job_title", "industry"})
_MAX_COMPANY_SIZE = 10_000_000
_MAX_CUSTOM_KEY = 64
_MAX_CUSTOM_DEPTH = 16
# Browsers' clocks drift; a consent time a little after capture is still believable.
_CLOCK_SKEW = timedelta(minutes=5)

_TRUE = frozenset({"true", "yes", "y", "on", "1", "checked"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})
_NUMBER = r"(\d{1,3}(?:[,.'\u00a0\u202f ]\d{3})+|\d+)\s*(k?)"
_SIZE_RANGE = re.compile(rf"{_NUMBER}\s*(?:-|–|—|to|bis)\s*{_NUMBER}", re.IGNORECASE)
_SIZE_ATLEAST = re.compile(rf"{_NUMBER}\s*\+?", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HOST_LABEL = re.compile(r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?")
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


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


class _Bad(ValueError):
    """A single field's value is unusable; the message is shown to the submitter."""


_Given = tuple[str, Any]  # (label the submitter used, raw value)


def is_honeypot_filled(raw: Mapping[str, Any], form: FormSpec | None) -> bool:
    """Whether a bot filled the form's hidden honeypot field."""
    if form is None or not form.honeypot_field:
        return False
    return not _blank(raw.get(form.honeypot_field))


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

    def get(name: str, parse: Callable[[Any], T | None]) -> T | None:
        if name not in given:
            return None
        label, value = given[name]
        try:
            return parse(value)
        except _Bad as exc:
            errors.append(FieldError(label, str(exc)))
            return None

    def text(name: str) -> str | None:
        return get(name, lambda v: _text(v, _MAX_CHARS[name], collapse=name in _COLLAPSED))

    email = get("email", lambda v: _email(_text(v, _MAX_CHARS["email"])))
    first_name, last_name = text("first_name"), text("last_name")
    country = get("country", lambda v: _country(_text(v, _MAX_CHARS["country"])))
    phone = get("phone", lambda v: _phone(_text(v, _MAX_CHARS["phone"]), country))
    company, job_title = text("company"), text("job_title")
    company_size = get("company_size", _company_size)
    industry = text("industry")
    website = get("website", lambda v: _website(_text(v, _MAX_CHARS["website"])))
    attribution = {name: text(name) for name in _ATTRIBUTION}
    marketing = get("consent_marketing", _bool) or False
    consent_text = text("consent_text")
    granted_at = get("consent_granted_at", lambda v: _instant(v, captured_at))
    custom = _custom(custom_given, custom_max_bytes, errors)

    # Body UTMs win; the landing page's query fills only the gaps (truncated, never an error:
    # the visitor chose neither the URL nor its length).
    landing_utms = _query(attribution["landing_page"])
    for name in _UTM:
        if attribution[name] is None and (found := landing_utms.get(name)):
            attribution[name] = found[: _MAX_CHARS[name]]
    if form is not None:
        attribution["form_id"] = form.form_id
    attribution["source"] = attribution["source"] or source

    person: dict[str, Any] = {
        "email": email, "first_name": first_name, "last_name": last_name, "phone": phone,
        "company": company, "job_title": job_title, "company_size": company_size,
        "industry": industry, "country": country, "website": website,
    }  # fmt: skip
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
            present = not _blank(custom.get(name.removeprefix("custom.")))
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
            if target not in merged or not _blank(value):
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


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------- single fields


def _text(value: Any, max_chars: int, *, collapse: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad("must be a string")
    cleaned = " ".join(value.split()) if collapse else value.strip()
    # PostgreSQL refuses NUL in text; other control characters are never meant in a lead.
    if any(ord(c) < 32 and c not in "\t\n\r" for c in cleaned):
        raise _Bad("must not contain control characters")
    if len(cleaned) > max_chars:
        raise _Bad(f"must be at most {max_chars} characters")
    return cleaned or None


def _email(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise _Bad(str(exc)) from exc


def _country(text: str | None) -> str | None:
    if text is None:
        return None
    code = country_code(text)
    if code is None:
        raise _Bad("is not a known country name or ISO 3166 code")
    return code


def _phone(text: str | None, region: str | None) -> str | None:
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (start with +country code, or give a country)"
        raise _Bad(f"is not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(number):
        raise _Bad("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _company_size(value: Any) -> int | None:
    """Employees: an int, "250", "1,000", "10k", "1,000+" or a range "50-200" (lower bound)."""
    if isinstance(value, bool):
        raise _Bad("must be a number of employees")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        # A range gives its lower bound: it is all the submitter vouched for, it matches
        # open-ended "1,000+", and picklist bands ("51-200") then fall in the same band.
        match = _SIZE_RANGE.fullmatch(text) or _SIZE_ATLEAST.fullmatch(text)
        if match is None:
            raise _Bad('must be a number of employees, like "250", "50-200" or "1,000+"')
        value = _count(*match.group(1, 2))
        if match.re is _SIZE_RANGE and _count(*match.group(3, 4)) < value:
            raise _Bad("range must go from low to high")
    if not isinstance(value, int):
        raise _Bad("must be a number of employees")
    if not 1 <= value <= _MAX_COMPANY_SIZE:
        raise _Bad(f"must be between 1 and {_MAX_COMPANY_SIZE:,}")
    return value


def _count(digits: str, thousands: str) -> int:
    return int(re.sub(r"\D", "", digits)) * (1000 if thousands else 1)


def _website(text: str | None) -> str | None:
    if text is None:
        return None
    if any(c.isspace() for c in text):
        raise _Bad("must be a web address without spaces")
    if not _HAS_SCHEME.match(text):
        text = "https:" + text if text.startswith("//") else "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise _Bad("is not a web address") from exc
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    if parts.scheme.lower() not in ("http", "https"):
        raise _Bad("must be an http or https address")
    if parts.username is not None or parts.password is not None:
        raise _Bad("must not contain credentials")
    if (
        len(labels) < 2
        or not all(_HOST_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # an IP address is not a company website
    ):
        raise _Bad("is not a web address")
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    url = parts._replace(scheme=parts.scheme.lower(), netloc=netloc, path=path).geturl()
    if len(url) > _MAX_CHARS["website"]:
        raise _Bad(f"must be at most {_MAX_CHARS['website']} characters")
    return url


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if not word:
            return None
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    raise _Bad("must be true or false")


def _instant(value: Any, captured_at: datetime) -> datetime | None:
    if _blank(value):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise _Bad("must be an ISO 8601 date and time") from exc
    if not isinstance(value, datetime):
        raise _Bad("must be an ISO 8601 date and time")
    instant = value if value.tzinfo else value.replace(tzinfo=UTC)  # no zone: take it as UTC
    if instant > captured_at + _CLOCK_SKEW:
        raise _Bad("must not be in the future")
    return instant


def _query(url: str | None) -> dict[str, str]:
    """The first non-blank value of each query parameter of a URL."""
    if not url:
        return {}
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {name: v for name, values in query.items() if (v := next(iter(values), "").strip())}


# ---------------------------------------------------------------- custom fields


def _custom(
    given: Mapping[str, _Given], max_bytes: int, errors: list[FieldError]
) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for key, (label, value) in given.items():
        if len(key) > _MAX_CUSTOM_KEY:
            errors.append(FieldError(label[:_MAX_CUSTOM_KEY] + "…", "name is too long"))
            continue
        try:
            _check_json(value, depth=0)
        except _Bad as exc:
            errors.append(FieldError(label, str(exc)))
            continue
        custom[key] = value
    size = len(json.dumps(custom, ensure_ascii=False, separators=(",", ":")).encode())
    if size > max_bytes:
        errors.append(FieldError("custom", f"extra fields take {size} bytes, at most {max_bytes}"))
    return custom


def _check_json(value: Any, depth: int) -> None:
    """Raise _Bad unless value is plain JSON that PostgreSQL's jsonb will also take."""
    if depth > _MAX_CUSTOM_DEPTH:
        raise _Bad("is nested too deeply")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad("must be a finite number")
    elif isinstance(value, str):
        if "\x00" in value:
            raise _Bad("must not contain NUL characters")
    elif isinstance(value, list):
        for item in value:
            _check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Bad("object keys must be strings")
            _check_json(key, depth + 1)
            _check_json(item, depth + 1)
    else:
        raise _Bad("must be a string, number, boolean, null, list or object")
