"""Reading a request by hand, for a route on the hot path, with FastAPI's answers and document.

FastAPI's dependency solving costs ~20 µs per dependency and its body handling (JSON decoded
to Python, then validated) more than validating the bytes directly; on the lead API that was
more than intake's own work per lead. A route that takes only `request: Request` and calls
these answers as the typed version did — 401 for a missing bearer token, 422 naming each bad
field (header, or body as `body.<field>`) — and documents the same with `openapi_extra`:
`documented(body=LeadIn, headers=[...], bearer=True)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# Body models documented by reference: `leadflow.openapi` adds their schemas to components.
BODY_MODELS: dict[str, type[BaseModel]] = {}
BEARER_SCHEME = "HTTPBearer"  # the name FastAPI gives `HTTPBearer()` in components


def bearer_credentials(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, else None (as `HTTPBearer`)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def header_errors(request: Request, limits: dict[str, int]) -> list[dict[str, Any]]:
    """Errors, FastAPI-shaped, for the headers over their documented maximum length."""
    errors = []
    for name, limit in limits.items():
        value = request.headers.get(name)
        if value is not None and len(value) > limit:
            errors.append(
                {
                    "type": "string_too_long",
                    "loc": ("header", name),
                    "msg": f"String should have at most {limit} characters",
                    "input": value,
                }
            )
    return errors


async def json_body(request: Request, model: type[M], errors: Iterable[dict[str, Any]] = ()) -> M:
    """The JSON body validated as `model` from its bytes; raise the 422 FastAPI would, with
    `errors` (say, of headers) reported alongside."""
    found = list(errors)
    body = await request.body()
    parsed: M | None = None
    if not body:
        found.append({"type": "missing", "loc": ("body",), "msg": "Field required"})
    elif not _is_json(request.headers.get("content-type")):
        message = "Input should be a valid dictionary or object to extract fields from"
        found.append({"type": "model_attributes_type", "loc": ("body",), "msg": message})
    else:
        try:
            parsed = model.model_validate_json(body)
        except ValidationError as exc:
            found += [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
    if found or parsed is None:
        raise RequestValidationError(found)
    return parsed


def _is_json(content_type: str | None) -> bool:
    """application/json or application/*+json (no content type is not JSON, for FastAPI)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    maintype, _, subtype = media.partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def documented(
    *,
    body: type[BaseModel] | None = None,
    headers: Iterable[dict[str, Any]] = (),
    bearer: bool = False,
) -> dict[str, Any]:
    """`openapi_extra` saying what a hand-read route takes, as FastAPI writes typed ones."""
    extra: dict[str, Any] = {}
    if body is not None:
        BODY_MODELS[body.__name__] = body
        schema = {"$ref": f"#/components/schemas/{body.__name__}"}
        content = {"application/json": {"schema": schema}}
        extra["requestBody"] = {"required": True, "content": content}
    if parameters := [{"in": "header", "required": False, **h} for h in headers]:
        extra["parameters"] = parameters
    if bearer:
        extra["security"] = [{BEARER_SCHEME: []}]
    return extra
