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
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from leadflow.leadbody.countries import country_code
from leadflow.limits import URL_CHARS

_MAX_COMPANY_SIZE = 10_000_000
_MAX_CUSTOM_DEPTH = 16
# Browsers' clocks drift; a consent time a little after capture is still believable.
_CLOCK_SKEW = timedelta(minutes=5)

_TRUE = frozenset({"true", "yes", "y", "on", "1", "checked"})
_FALSE = frozenset({"false", "no", "n", "off", "0"})
# Matched against the text with each whitespace run made one space, so no two quantifiers
# compete for the same characters ("1" + 20,000 spaces + "x" once backtracked for 13 s).
_MAX_SIZE_TEXT = 64
_NUMBER = r"(\d{1,3}(?:[,.' ]\d{3})+|\d+) ?(k?)"
_SIZE_RANGE = re.compile(rf"{_NUMBER} ?(?:-|–|—|to|bis) ?{_NUMBER}", re.IGNORECASE)
_SIZE_ATLEAST = re.compile(rf"{_NUMBER} ?\+?", re.IGNORECASE)
_HAS_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# json.loads reads an escaped lone surrogate ("\ud800") into a str no encoder will write.
_SURROGATE = re.compile("[\ud800-\udfff]")
_HOST_LABEL = re.compile(r"(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?")
# The everyday address: an ASCII dot-atom local part at an ASCII host name whose top-level
# label ends in a letter. email_validator accepts every such address (given the length,
# "--" and special-use checks in `_plain_email`) and returns it unchanged but for the case.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z])?"
)
_SPECIAL_USE = tuple(SPECIAL_USE_DOMAIN_NAMES)
_INTERNATIONAL = re.compile(r"\+([1-9][0-9]{5,16})")
_SEPARATORS = str.maketrans("", "", " .-()\u00a0")


class Bad(ValueError):
    """A single field's value is unusable; the message is shown to the submitter."""


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def unicode(value: str) -> str:
    """The string, unless it holds a lone surrogate (then Bad): it could not be stored."""
    if not value.isascii() and _SURROGATE.search(value):
        raise Bad("is not valid Unicode (a lone surrogate)")
    return value


def text(value: Any, max_chars: int, *, collapse: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Bad("must be a string")
    unicode(value)
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
    if (plain := _plain_email(text)) is not None:
        return plain
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise Bad(str(exc)) from exc


def _plain_email(text: str) -> str | None:
    """An everyday address, lower-cased, without email_validator's full Unicode pass (the
    costlier part of normalising a lead); None for anything else, which email_validator then
    judges (and explains)."""
    if len(text) > 254 or _PLAIN_EMAIL.fullmatch(text) is None:
        return None
    local, _, domain = text.lower().rpartition("@")
    if len(local) > 64 or len(domain) > 253 or "--" in domain:  # "--": Punycode, R-LDH
        return None
    if any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE):
        return None
    return f"{local}@{domain}"


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
    if (plain := _plain_international(text)) is not None:
        return plain
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (start with +country code, or give a country)"
        raise Bad(f"is not a phone number{hint}") from exc
    if not phonenumbers.is_valid_number(number):
        raise Bad("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _plain_international(text: str) -> str | None:
    """A valid number written as +country code and digits (spaces, dots, dashes and brackets
    allowed), as E.164, without phonenumbers' full parse; None for anything else, which the
    full parse then judges."""
    found = _INTERNATIONAL.fullmatch(text.translate(_SEPARATORS))
    if found is None:
        return None
    digits = found[1]
    for length in (1, 2, 3):  # country calling codes are prefix-free
        code = int(digits[:length])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[length:]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    # A leading 0 (Italy) or anything like a national prefix: the full parse decides.
    if metadata is None or national.startswith("0"):
        return None
    if metadata.national_prefix_for_parsing and re.match(
        metadata.national_prefix_for_parsing, national
    ):
        return None
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return f"+{digits}" if phonenumbers.is_valid_number(number) else None


def company_size(value: Any) -> int | None:
    """Employees: an int, "250", "1,000", "10k", "1,000+" or a range "50-200" (lower bound)."""
    if isinstance(value, bool):
        raise Bad("must be a number of employees")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = " ".join(value.split())  # NBSP and narrow NBSP (thousands) become spaces too
        if not text:
            return None
        if len(text) > _MAX_SIZE_TEXT:
            raise Bad(f"must be at most {_MAX_SIZE_TEXT} characters")
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
    number = re.sub(r"\D", "", digits).lstrip("0") or "0"
    if len(number) > len(str(_MAX_COMPANY_SIZE)):  # and int() refuses over 4,300 digits
        raise Bad(f"must be between 1 and {_MAX_COMPANY_SIZE:,}")
    return int(number) * (1000 if thousands else 1)


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
    if len(url) > URL_CHARS:
        raise Bad(f"must be at most {URL_CHARS} characters")
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
        unicode(value)
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
