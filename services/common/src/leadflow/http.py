"""HTTP basics every service shares: problem+json errors, health, metrics, bearer tokens
(who may call what is access.py's)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadflow.db import is_unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
T = TypeVar("T")

Check = Callable[[], Awaitable[None]]


class Problem(Exception):
    """An RFC 9457 problem to answer with; raise it from handlers and routes."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_name(loc: tuple[int | str, ...] | list[int | str]) -> str:
    """`("body", "consent", "text")` → `consent.text`; the place a client can act on."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


def invalid(errors: Iterable[tuple[str, str]]) -> Problem:
    """A 422 naming every bad field: `errors: [{field, message}]` (raise it)."""
    # A field named by a client may hold a lone surrogate, which no JSON answer can carry.
    listed = [{"field": _writable(f), "message": _writable(m)} for f, m in errors]
    names = ", ".join(dict.fromkeys(e["field"] for e in listed))
    return Problem(422, "Validation failed", f"Invalid fields: {names}", errors=listed)


def _writable(text: str) -> str:
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _named(error: Mapping[str, Any]) -> tuple[str, str]:
    """(field, message) of one of FastAPI's errors; JSON that does not parse names the body
    (FastAPI's `loc` holds the character where decoding stopped, which is no field)."""
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "invalid")
        return "body", f"is not valid JSON: {reason} at character {error['loc'][-1]}"
    return field_name(error.get("loc", ())), str(error.get("msg", "invalid"))


def from_state(attr: str, cls: type[T]) -> Any:
    """A dependency returning `app.state.<attr>` (built in the app factory), typed as `cls`."""

    async def get(request: Request) -> T:  # async: FastAPI runs a sync dependency in a thread
        value = getattr(request.app.state, attr)
        assert isinstance(value, cls)
        return value

    return Depends(get)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as application/problem+json."""

    async def on_problem(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(
            exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extensions
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
            # FastAPI's "error parsing the body": here the decoder's stack guard (`[[[[…`).
            return await on_problem(request, invalid([("body", "is nested too deeply")]))
        title = exc.detail if isinstance(exc.detail, str) else "Error"
        return problem_response(exc.status_code, title, headers=exc.headers)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [_named(e) for e in exc.errors()]
        return await on_problem(request, invalid(errors))

    async def on_error(request: Request, exc: Exception) -> Response:
        # Dependency errors are registered by class below, so they are answered here without
        # Starlette's server-error path (which re-raises after answering).
        if is_unavailable(exc):
            # The database is away: say so (and nothing was accepted), rather than a 500.
            log.warning("dependency unavailable on %s: %s", request.url.path, type(exc).__name__)
            return problem_response(
                503,
                "Service Unavailable",
                "A dependency is unavailable; retry shortly.",
                headers={"Retry-After": "5"},
            )
        log.error("unhandled error on %s", request.url.path, exc_info=exc)
        return problem_response(500, "Internal Server Error")

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_error)
    for cls in (DBAPIError, ConnectionError, TimeoutError, OSError):
        app.add_exception_handler(cls, on_error)


def health_router(
    readiness: Mapping[str, Check],
    liveness: Callable[[], str | None] | None = None,
    degradable: Mapping[str, Check] | None = None,
) -> APIRouter:
    """`/healthz` (this process is not stuck), `/readyz` (dependencies answer), `/metrics`.

    `readiness` checks must pass for a 200; a failing `degradable` check (Kafka, for a service
    whose outbox takes work while it is away) is named under `degraded`, still 200."""
    optional = dict(degradable or {})
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Alive: the HTTP loop answers and no worker loop is stuck")
    async def healthz() -> Response:
        stuck = liveness() if liveness else None
        if stuck:
            return problem_response(503, "Stuck", stuck)
        return JSONResponse({"status": "ok"})

    @router.get(
        "/readyz",
        summary="Ready: what the service needs answers (a degraded dependency is named, 200)",
    )
    async def readyz() -> Response:
        results: dict[str, str] = {}
        for name, check in {**readiness, **optional}.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"
        down = [name for name, v in results.items() if v != "ok" and name not in optional]
        degraded = [name for name, v in results.items() if v != "ok" and name in optional]
        if degraded and not down:
            return JSONResponse({"status": "degraded", "degraded": degraded, "checks": results})
        if not down:
            return JSONResponse({"status": "ready", "checks": results})
        return problem_response(
            503, "Service Unavailable", f"Not ready: {', '.join(down)}.", checks=results
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


_bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    """The bearer token, or 401 with `WWW-Authenticate`."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Problem(
            401,
            "Unauthorized",
            "Send Authorization: Bearer <token>.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
