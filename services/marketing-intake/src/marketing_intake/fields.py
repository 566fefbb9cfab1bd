"""Single-field parsers for leads: each returns the normalised value or raises `Bad`.

Pure: no I/O, no framework.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from marketing_intake.countries import country_code

_MAX_COMPANY_SIZE = 10_000_000
_MAX_CUSTOM_DEPTH = 16
_MAX_WEBSITE = 2048
# Browsers' clocks drift; a consent time a little after capture is still believable.
_CLOCK_SKEW = timedelta(minutes=5)

_TRUE = frozenset({"true", "yes", "y", "on", "1", "checked"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})
_NUMBER = r"(\d{1,3}(?:[,.'\u00a0\u202f ]\d{3})+|\d+)\s*(k?)"
_SIZE_RANGE = re.compile(rf"{_NUMBER}\s*(?:-|–|—|to|bis)\s*{_NUMBER}", re.IGNORECASE)
_SIZE_ATLEAST = re.compile(rf"{_NUMBER}\s*\+?", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_HOST_LABEL = re.compile(r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?")


class Bad(ValueError):
    """A single field's value is unusable; the message is shown to the submitter."""


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any, max_chars: int, *, collapse: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Bad("must be a string")
    cleaned = " ".join(value.split()) if collapse else value.strip()
    # PostgreSQL refuses NUL in text; other control characters are never meant in a lead.
    if _CONTROL.search(cleaned):
        raise Bad("must not contain control characters")
    if len(cleaned) > max_chars:
        raise Bad(f"must be at most {max_chars} characters")
    return cleaned or None


def email(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Bad(str(exc)) from exc


def country(text: str | None) -> str | None:
    if text is None:
        return None
    code = country_code(text)
    if code is None:
        raise Bad("is not a known country name or ISO 3166 code")
    return code


def phone(text: str | None, region: str | None) -> str | None:
    if text is None:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (start with +country code, or give a country)"
        raise Bad(f"is not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(number):
        raise Bad("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def company_size(value: Any) -> int | None:
    """Employees: an int, "250", "1,000", "10k", "1,000+" or a range "50-200" (lower bound)."""
    if isinstance(value, bool):
        raise Bad("must be a number of employees")
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
            raise Bad('must be a number of employees, like "250", "50-200" or "1,000+"')
        value = _count(*match.group(1, 2))
        if match.re is _SIZE_RANGE and _count(*match.group(3, 4)) < value:
            raise Bad("range must go from low to high")
    if not isinstance(value, int):
        raise Bad("must be a number of employees")
    if not 1 <= value <= _MAX_COMPANY_SIZE:
        raise Bad(f"must be between 1 and {_MAX_COMPANY_SIZE:,}")
    return value


def _count(digits: str, thousands: str) -> int:
    return int(re.sub(r"\D", "", digits)) * (1000 if thousands else 1)


def website(text: str | None) -> str | None:
    if text is None:
        return None
    if any(c.isspace() for c in text):
        raise Bad("must be a web address without spaces")
    if not _HAS_SCHEME.match(text):
        text = "https:" + text if text.startswith("//") else "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise Bad("is not a web address") from exc
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    if parts.scheme.lower() not in ("http", "https"):
        raise Bad("must be an http or https address")
    if parts.username is not None or parts.password is not None:
        raise Bad("must not contain credentials")
    if (
        len(labels) < 2
        or not all(_HOST_LABEL.fullmatch(label) for label in labels)
        or labels[-1].isdigit()  # an IP address is not a company website
    ):
        raise Bad("is not a web address")
    netloc = host if port is None else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    url = parts._replace(scheme=parts.scheme.lower(), netloc=netloc, path=path).geturl()
    if len(url) > _MAX_WEBSITE:
        raise Bad(f"must be at most {_MAX_WEBSITE} characters")
    return url


def boolean(value: Any) -> bool | None:
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
    raise Bad("must be true or false")


def instant(value: Any, captured_at: datetime) -> datetime | None:
    if blank(value):
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise Bad("must be an ISO 8601 date and time") from exc
    if not isinstance(value, datetime):
        raise Bad("must be an ISO 8601 date and time")
    instant = value if value.tzinfo else value.replace(tzinfo=UTC)  # no zone: take it as UTC
    if instant > captured_at + _CLOCK_SKEW:
        raise Bad("must not be in the future")
    return instant


def query_params(url: str | None) -> dict[str, str]:
    """The first non-blank value of each query parameter of a URL."""
    if not url:
        return {}
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        return {}
    return {name: v for name, values in query.items() if (v := next(iter(values), "").strip())}


def check_json(value: Any, depth: int) -> None:
    """Raise Bad unless value is plain JSON that PostgreSQL's jsonb will also take."""
    if depth > _MAX_CUSTOM_DEPTH:
        raise Bad("is nested too deeply")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Bad("must be a finite number")
    elif isinstance(value, str):
        if "\x00" in value:
            raise Bad("must not contain NUL characters")
    elif isinstance(value, list):
        for item in value:
            check_json(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise Bad("object keys must be strings")
            check_json(key, depth + 1)
            check_json(item, depth + 1)
    else:
        raise Bad("must be a string, number, boolean, null, list or object")
