"""The sales-ops page at `/sales-ops`: the fairness ledger of routing, server-rendered."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from feedback import auth, sales_ops
from feedback.api_dashboard import RT, Days, login_page, render
from feedback.days import end_of, period, start_of
from leadflow.access import roles_text

router = APIRouter(tags=["dashboard"])


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
async def sales_ops_page(request: Request, rt: RT, days: Days) -> HTMLResponse:
    if await auth.session_principal(request) is None:
        return login_page(request, days)
    first, last, errors = period(days.from_, days.to, datetime.now(UTC).date())
    view = await sales_ops.fairness_view(rt, start_of(first), end_of(last))
    return render("sales_ops.html", view=view, first=first, last=last, errors=errors)
