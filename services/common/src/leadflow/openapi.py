"""The OpenAPI document tells the truth about errors: problem+json, and who may answer what.

FastAPI documents 422 as its own JSON shape; every error of a leadflow service leaves as
RFC 9457 `application/problem+json` (leadflow.http). `document_problems(app)` rewrites the
document once: 401/403/429 where a token is needed, 404 where the path names something,
400/413/422 where a body or parameters are
sent, 503 when the database is away, each as problem+json. Responses a route documents
with another media type (an HTML page's 401) keep it. `allow_every_method(app)` makes a
405 name in `Allow` every method of the path, not only the first route's.

(Generalised from marketing-intake's `openapi.py`, so every service can share it.)
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.routing import Route

from leadflow.http import PROBLEM_JSON, problem_response

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
PROBES = ("/healthz", "/readyz")  # answer 503 when stuck or not ready
COMMON = {
    400: "The body could not be parsed",
    401: "No or unknown token",
    403: "The token may not do this",
    404: "No such resource",
    413: "Body too large",
    422: "Invalid fields, each named",
    429: "Too many failed token checks from this address: retry after Retry-After",
    503: "Unavailable: a dependency is away (retry after Retry-After), or not ready",
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def document_problems(app: FastAPI, *, api_prefix: str = "/v1/") -> None:
    """Rewrite the app's OpenAPI document once, when first asked for."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = build()
        for path, item in doc.get("paths", {}).items():
            for operation in item.values():
                if isinstance(operation, dict):
                    _fix(operation, api=path.startswith(api_prefix) or path in PROBES)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def _fix(operation: dict[str, Any], *, api: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    wanted: list[int] = []
    if operation.get("security"):
        wanted += [401, 403, 429]
    if "requestBody" in operation or operation.get("parameters"):
        wanted += [400, 413, 422] if "requestBody" in operation else [422]
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        wanted.append(404)  # a path naming something that does not exist
    if api:
        wanted.append(503)
    for code in wanted:
        responses.setdefault(str(code), {"description": COMMON[code]})
    for status, response in responses.items():
        if status[0] not in "45":
            continue
        content = response.get("content") or {}
        if not content or set(content) <= {"application/json"}:
            response["content"] = dict(_PROBLEM_CONTENT)


def allow_every_method(app: FastAPI) -> None:
    """A 405 whose `Allow` names every method of the path (Starlette names one route's)."""

    async def on_405(request: Request, _: Exception) -> Response:
        path = request.url.path
        matching = [
            (route.path_format, set(route.methods))
            for route, original in _routes(request.app)
            if isinstance(original, Route) and route.methods and route.path_regex.match(path)
        ]
        # A literal path (`/v1/reps/import`) wins over a template that also matches it
        # (`/v1/reps/{rep_id}`): its methods are the ones the document lists there.
        literal = [m for fmt, m in matching if fmt == path]
        methods = set().union(*(literal or [m for _, m in matching]))
        return problem_response(
            405, "Method Not Allowed", headers={"Allow": ", ".join(sorted(methods))}
        )

    app.add_exception_handler(405, on_405)


def _routes(app: Any) -> list[tuple[Any, Any]]:
    """(route as served, its original) for every route, included routers flattened."""
    try:
        from fastapi.routing import iter_route_contexts  # noqa: PLC0415 - newer FastAPI only
    except ImportError:  # pragma: no cover - older FastAPI keeps a flat list
        return [(r, r) for r in app.routes]
    return [(ctx, ctx.original_route) for ctx in iter_route_contexts(app.routes)]
