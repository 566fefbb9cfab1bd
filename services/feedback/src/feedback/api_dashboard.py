"""The marketing dashboard at `/`: a login form, then server-rendered figures and SVG charts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feedback import auth, handlers
from feedback.dashboard import duration
from feedback.settings import FeedbackSettings
from leadflow.http import from_state, tokens_equal
from leadflow.service import Runtime

STATIC = Path(__file__).with_name("static")
router = APIRouter(tags=["dashboard"])
RT = Annotated[Runtime, from_state("runtime", Runtime)]
Config = Annotated[FeedbackSettings, from_state("settings", FeedbackSettings)]

HEADERS = {
    # Nothing but this service's own stylesheet; no script runs on the page.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _money(value: float | Any, currency: str | None = None) -> str:
    if value is None:
        return "–"
    return f"{float(value):,.2f}" + (f" {currency}" if currency else "")


def _amount(value: float | Any, currency: str | None = None) -> str:
    """A key figure: whole amounts without cents, so the tile stays one line."""
    if value is None:
        return "–"
    number = float(value)
    shown = f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    return shown + (f" {currency}" if currency else "")


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _signed_percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f} %"


templates = Environment(
    loader=PackageLoader("feedback", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(
    money=_money,
    amount=_amount,
    percent=_percent,
    signed_percent=_signed_percent,
    duration=duration,
)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _day(text: str | None, name: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{name}: not a date (YYYY-MM-DD)")
        return None


def _safe_next(value: str | None) -> str:
    """Only a path on this site (`/…`, not `//host`): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The marketing dashboard (HTML); without a login, the login form",
    description=(
        "Charts (funnel; leads and win rate by source and campaign per week; speed to lead; "
        "ROI per campaign) and tables for the leads captured from `from` to `to` (dates, "
        "both included). Log in with the admin token through the form (POST /login), which "
        "sets an HttpOnly, SameSite=Strict cookie."
    ),
)
async def dashboard_page(
    request: Request,
    rt: RT,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> HTMLResponse:
    if not auth.logged_in(request):
        return render("login.html", next=str(request.url.path) + _query(from_, to))
    errors: list[str] = []
    first, last = _day(from_, "from", errors), _day(to, "to", errors)
    if first and last and last < first:
        errors.append("to: must not be before from")
        first = last = None
    start = datetime.combine(first, time(), UTC) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    view = await handlers.dashboard_view(rt, start, end)
    params = {k: v.isoformat() for k, v in (("from", start), ("to", end)) if v is not None}
    return render(
        "dashboard.html",
        view=view,
        charts={k: Markup(v) for k, v in view.charts.items()},  # noqa: S704 - our own SVG, escaped
        first=first,
        last=last,
        errors=errors,
        csv_query=urlencode(params),
    )


def _query(from_: str | None, to: str | None) -> str:
    params = {k: v for k, v in (("from", from_), ("to", to)) if v}
    return f"?{urlencode(params)}" if params else ""


@router.post(
    "/login",
    response_class=HTMLResponse,
    summary="Log in to the dashboard with the admin token (form post); sets the cookie",
    responses={
        303: {"description": "Logged in: back to the dashboard"},
        401: {
            "description": "Wrong token: the form again, with a message",
            "content": {"text/html": {}},
        },
    },
)
async def login(request: Request, settings: Config) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    token = (form.get("token") or [""])[0]
    target = _safe_next((form.get("next") or ["/"])[0])
    if not tokens_equal(token, settings.admin_token.get_secret_value()):
        return render("login.html", 401, next=target, failed=True)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    admin = settings.admin_token.get_secret_value()
    response.set_cookie(
        auth.SESSION_COOKIE,
        auth.session_value(admin, hours=settings.dashboard_session_hours),
        max_age=int(settings.dashboard_session_hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.env == "prod" or request.url.scheme == "https",
    )
    return response


@router.post(
    "/logout",
    summary="Log out of the dashboard (drops the cookie)",
    status_code=303,
    response_class=RedirectResponse,
)
async def logout() -> RedirectResponse:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
