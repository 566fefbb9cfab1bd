"""The sales-ops page at `/sales-ops`: the fairness ledger of routing, server-rendered."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from feedback import auth, sales_ops
from feedback.api_dashboard import RT, parse_day, render
from leadflow.access import roles_text

router = APIRouter(tags=["dashboard"])
DEFAULT_DAYS = 30
MAX_DAYS = 366


def period(from_: str | None, to: str | None, today: date) -> tuple[date, date, list[str]]:
    """The days asked for (both included; the last 30 by default) and what was wrong."""
    errors: list[str] = []
    first, last = parse_day(from_, "from", errors), parse_day(to, "to", errors)
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        errors.append("to: must not be before from")
    elif (last - first).days + 1 > MAX_DAYS:
        errors.append(f"to: at most {MAX_DAYS} days")
    if errors:
        last = today
        first = last - timedelta(days=DEFAULT_DAYS - 1)
    return first, last, errors


@router.get(
    "/sales-ops",
    response_class=HTMLResponse,
    summary="The sales-ops page (HTML): is routing fair? Without a login, the login form",
    description=(
        "The fairness ledger of the leads assigned from `from` to `to` (dates, both "
        "included; the last 30 days by default; at most 366): per rep, the assignments it "
        "was eligible in, the leads it could expect (its weight ÷ the eligible weight at "
        "each, as recorded in the `leads.assigned` event), the leads it got, and why it was "
        "skipped. Built from the `leads.assigned` events feedback consumes, so it counts "
        "decisions that gave a lead; sales-assignment's `GET /v1/routing/fairness` also "
        "counts the skips of leads it queued. Same session as the dashboard. "
        + roles_text("admin", "analyst")
    ),
)
async def sales_ops_page(
    request: Request,
    rt: RT,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> HTMLResponse:
    if await auth.session_principal(request) is None:
        params = {k: v for k, v in (("from", from_), ("to", to)) if v}
        query = f"?{urlencode(params)}" if params else ""
        return render("login.html", next=str(request.url.path) + query)
    first, last, errors = period(from_, to, datetime.now(UTC).date())
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    view = await sales_ops.fairness_view(rt, start, end)
    return render("sales_ops.html", view=view, first=first, last=last, errors=errors)
