"""The marketing dashboard at `/`: a login form, then server-rendered figures and SVG charts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from feedback import agreements, auth, handlers, sessions
from feedback.dashboard import duration
from feedback.days import end_of, parse_day, start_of
from feedback.forms import FormLimits, Refused, read_form
from feedback.sessions import SESSION_COOKIE
from feedback.settings import FeedbackSettings
from leadflow.access import access_of, client_address_of, roles_text
from leadflow.http import from_state
from leadflow.ratelimit import retry_after
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


def _safe_next(value: str | None) -> str:
    """Only a path on this site (`/…`, not `//host`): no open redirect."""
    if (
        value
        and len(value) <= 2000
        and value.isprintable()  # a browser drops tabs and newlines: "/\t/host" is "//host"
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
    ):
        return value
    return "/"


@dataclass(frozen=True, slots=True)
class DaysAsked:
    """A page's `from` and `to` query values as given (`YYYY-MM-DD`, both included)."""

    from_: str | None
    to: str | None

    def query(self) -> str:
        """Their query string (empty without either), for the login form to come back to."""
        params = {k: v for k, v in (("from", self.from_), ("to", self.to)) if v}
        return f"?{urlencode(params)}" if params else ""


def days_asked(
    from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None
) -> DaysAsked:
    return DaysAsked(from_, to)


Days = Annotated[DaysAsked, Depends(days_asked)]


def login_page(request: Request, days: DaysAsked | None = None) -> HTMLResponse:
    """The login form, which comes back to this page (and its days) once logged in."""
    return render("login.html", next=str(request.url.path) + (days.query() if days else ""))


def form_post_responses(redirect: str, *pages: tuple[int, str]) -> dict[int | str, Any]:
    """OpenAPI answers of a dashboard form post: 303 on success, else an HTML page per code."""
    answers: dict[int | str, Any] = {303: {"description": redirect}}
    answers |= {code: {"description": text, "content": {"text/html": {}}} for code, text in pages}
    return answers


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="The marketing dashboard (HTML); without a login, the login form",
    description=(
        "First, this month's marketing–sales agreement: each promise with its target, actual, "
        "projection and whether it is on track (green) or not (red), for marketing and for "
        "sales (GET /v1/agreement/status). Then charts (funnel; leads and win rate by source "
        "and campaign per week; speed to lead; ROI per campaign) and tables (lead quality "
        "and rejection reasons by source) for the leads captured from `from` to `to` (dates, "
        "both included). Log in with an analyst or admin token through the form (POST "
        "/login), which opens a session on the server and sets an HttpOnly, SameSite=Strict "
        "cookie holding only its random id. " + roles_text("admin", "analyst")
    ),
)
async def dashboard_page(request: Request, rt: RT, settings: Config, days: Days) -> HTMLResponse:
    if await auth.session_principal(request) is None:
        return login_page(request, days)
    errors: list[str] = []
    first, last = parse_day(days.from_, "from", errors), parse_day(days.to, "to", errors)
    if first and last and last < first:
        errors.append("to: must not be before from")
        first = last = None
    start = start_of(first) if first else None
    end = end_of(last) if last else None
    view = await handlers.dashboard_view(rt, start, end, settings.min_verdicts)
    promised = await agreements.panel(
        rt, min_verdicts=settings.min_verdicts, min_projection_days=settings.min_projection_days
    )
    params = {k: v.isoformat() for k, v in (("from", start), ("to", end)) if v is not None}
    return render(
        "dashboard.html",
        view=view,
        charts={k: Markup(v) for k, v in view.charts.items()},  # noqa: S704 - our own SVG, escaped
        first=first,
        last=last,
        errors=errors,
        csv_query=urlencode(params),
        min_verdicts=settings.min_verdicts,
        agreement=promised,
    )


@router.post(
    "/login",
    response_class=HTMLResponse,
    summary="Log in to the dashboard with an analyst or admin token (form post)",
    description=(
        "Form fields `token` and `next` (a path on this site). A right token opens a session "
        "on the server (until LEADFLOW_DASHBOARD_SESSION_HOURS, never past the token's own "
        "expiry) and sets its cookie; a sales_tool or rep token is refused. Failed attempts "
        "count per client address with failed bearer checks (LEADFLOW_AUTH_FAILURES_*): past "
        "the limit the answer is 429 with Retry-After. " + roles_text("admin", "analyst")
    ),
    responses=form_post_responses(
        "Logged in: back to the dashboard",
        (400, "Not a form of at most 10 fields in UTF-8: the form again"),
        (401, "Wrong token: the form again, with a message"),
        (403, "A token of a role that may not use the dashboard"),
        (413, "A form over 8 KiB"),
        (429, "Too many failed logins from this address (Retry-After)"),
    ),
)
async def login(request: Request, settings: Config) -> Response:
    form = await read_form(request, LOGIN_FORM)
    if isinstance(form, Refused):
        return render("login.html", form.status, next="/", error=form.message)
    token, target = form.get("token", ""), _safe_next(form.get("next"))
    failures = access_of(request.app.state).failures
    address = client_address_of(request)
    wait = failures.wait(address)
    if wait > 0:
        return _too_many(target, wait)
    principal = await auth.login_principal(request, token) if token else None
    if principal is None:
        wait = failures.take(address)
        if wait > 0:
            return _too_many(target, wait)
        return render("login.html", 401, next=target, error="That token is not right.")
    if principal.role not in auth.DASHBOARD_ROLES:
        return render("login.html", 403, next=target, error=_ROLE_REFUSED)
    value = await auth.start_session(request, principal, settings.dashboard_session_hours)
    response = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(settings.dashboard_session_hours * 3600),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.env != "dev" or request.url.scheme == "https",
    )
    return response


_ROLE_REFUSED = "This token may not open the dashboard: it needs an analyst or admin token."
# A token, a path and some slack in 8 KiB; a JWT is far smaller.
LOGIN_FORM = FormLimits(max_bytes=8192, max_fields=10)


def _too_many(target: str, wait: float) -> HTMLResponse:
    response = render(
        "login.html", 429, next=target, error="Too many failed logins; try again later."
    )
    response.headers["Retry-After"] = retry_after(wait)
    return response


@router.post(
    "/logout",
    summary="Log out of the dashboard: the session ends on the server, the cookie is dropped",
    status_code=303,
    response_class=RedirectResponse,
)
async def logout(request: Request, rt: RT) -> RedirectResponse:
    await sessions.close_session(rt, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
