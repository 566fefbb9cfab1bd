"""Web form rules: form settings, where a post may come from, bots, and form clutter.

Pure: no I/O, no framework; time is passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from leadflow.leadbody.normalize import MAPPABLE_FIELDS

# The embed snippet's own hidden fields: render and submit time (ms, the browser's clock),
# and the page the form sat on and where the visitor came from.
RENDERED_AT = "_lf_ts"
SUBMITTED_AT = "_lf_sub"
PAGE = "_lf_page"
REFERRER = "_lf_ref"
OWN_PREFIX = "_lf_"

# Fields form builders, captchas and frameworks add that are never part of a lead.
CLUTTER = frozenset(
    {
        "g-recaptcha-response", "h-captcha-response", "cf-turnstile-response", "submit",
        "csrf_token", "csrfmiddlewaretoken", "_csrf", "_csrf_token", "csrf", "_token",
        "authenticity_token", "__requestverificationtoken", "__viewstate", "__eventvalidation",
        "utf8", "action", "button",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_ORIGINS = 50


def normalize_origin(value: str) -> str:
    """`HTTPS://Example.com:443/` → `https://example.com`; raise ValueError if not an origin."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("has a bad port") from exc
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("must be an http(s) origin such as https://www.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("must be only scheme://host[:port], without a path")
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return (
        f"{scheme}://{host}"
        if port in (None, _DEFAULT_PORTS[scheme])
        else f"{scheme}://{host}:{port}"
    )


def request_origin(origin: str | None, referer: str | None) -> str | None:
    """The origin a post comes from: its Origin header, else (none sent) its Referer's."""
    if origin is not None:  # authoritative when sent; "null" (sandboxed, opaque) is no origin
        candidate = origin.strip()
        if candidate.lower() == "null":
            return None
    elif referer:
        parts = urlsplit(referer.strip())
        candidate = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    else:
        return None
    try:
        return normalize_origin(candidate)
    except ValueError:
        return None


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    return origin is not None and origin in set(allowed)


def check_settings(
    *,
    field_map: Mapping[str, str],
    required: Iterable[str],
    honeypot_field: str | None,
    allowed_origins: list[str],
    redirect_url: str | None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """The normalised allowed origins and every bad setting as (field, message)."""
    errors: list[tuple[str, str]] = []
    not_a_field = "is not a lead field (nor custom.<name>)"
    for name, target in field_map.items():
        if not name.strip() or name.startswith(OWN_PREFIX):
            errors.append((f"field_map.{name}", f"must not be blank or start with {OWN_PREFIX}"))
        elif not _mappable(target):
            errors.append((f"field_map.{name}", f"{target!r} {not_a_field}"))
    for i, name in enumerate(required):
        if not _mappable(name):
            errors.append((f"required.{i}", f"{name!r} {not_a_field}"))
    hp = honeypot_field
    if hp is not None and (hp in field_map or hp.startswith(OWN_PREFIX) or not hp.strip()):
        errors.append(("honeypot_field", "must be a field of its own, not mapped to the lead"))
    origins: list[str] = []
    if not allowed_origins:
        errors.append(("allowed_origins", "name at least one origin the form is posted from"))
    if len(allowed_origins) > _MAX_ORIGINS:
        errors.append(("allowed_origins", f"at most {_MAX_ORIGINS} origins"))
    for i, origin in enumerate(allowed_origins):
        try:
            origins.append(normalize_origin(origin))
        except ValueError as exc:
            errors.append((f"allowed_origins.{i}", str(exc)))
    if redirect_url is not None:
        parts = urlsplit(redirect_url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
            errors.append(("redirect_url", "must be an absolute http(s) URL"))
    return list(dict.fromkeys(origins)), errors


def _mappable(target: str) -> bool:
    return target in MAPPABLE_FIELDS or (target.startswith("custom.") and len(target) > 7)


def filled_too_fast(raw: Mapping[str, Any], min_seconds: float, now_ms: float) -> bool:
    """Whether the snippet's timestamps show a fill faster than `min_seconds`.

    Without a usable render time (no script ran, or a client not using the snippet) the
    time is not measured and the post is not dropped for it: the honeypot still applies.
    """
    if min_seconds <= 0:
        return False
    rendered = _millis(raw.get(RENDERED_AT))
    if rendered is None:
        return False
    submitted = _millis(raw.get(SUBMITTED_AT))
    elapsed = ((submitted if submitted is not None else now_ms) - rendered) / 1000
    # A negative time means a clock we cannot trust: not measured.
    return 0 <= elapsed < min_seconds


def _millis(value: Any) -> float | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def clean_submission(raw: Mapping[str, Any], field_map: Mapping[str, str]) -> dict[str, Any]:
    """Drop the snippet's own fields and common clutter; the page and referrer fill gaps."""
    cleaned = {
        k: v
        for k, v in raw.items()
        if k in field_map or not (k.startswith(OWN_PREFIX) or k.lower() in CLUTTER)
    }
    for own, target in ((PAGE, "landing_page"), (REFERRER, "referrer")):
        value = raw.get(own)
        if isinstance(value, str) and value.strip() and not cleaned.get(target):
            cleaned[target] = value.strip()
    return cleaned


def with_lead_id(url: str, lead_id: str) -> str:
    """`url` with `lead_id` added to its query."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("lead_id", lead_id)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def flatten(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs to a dict: one value stays a value, a repeated name becomes a list."""
    out: dict[str, Any] = {}
    for key, value in items:
        if key not in out:
            out[key] = value
        elif isinstance(out[key], list):
            out[key].append(value)
        else:
            out[key] = [out[key], value]
    return out
