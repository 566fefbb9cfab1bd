"""The what-if lab page at `/lab`: run routing and scoring simulations, read their reports,
see the routing experiments' arms. Server-rendered; a simulation travels over Kafka
(`leadflow.lab`), never by HTTP to another service."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, cast, get_args

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from feedback import auth, handlers, lab_experiments, lab_store, lab_view
from feedback.api_dashboard import RT, Config, Days, form_post_responses, login_page, render
from feedback.days import end_of, period, start_of
from feedback.forms import FormLimits, Refused, read_form
from feedback.funnel import NO_VARIANT, GroupMetrics
from feedback.models import LabSimulation
from leadflow import lab
from leadflow.access import Principal, roles_text
from leadflow.ratelimit import TokenBuckets, retry_after

router = APIRouter(tags=["dashboard"])
# A draft rule set of a few hundred rules fits in 256 KiB.
LAB_FORM = FormLimits(max_bytes=262_144, max_fields=20)


async def _experiments(rt: RT, first: date, last: date, min_verdicts: int) -> list[dict[str, Any]]:
    """The funnel of each routing experiment's arms (`group_by=routing_variant`), by
    experiment then arm; leads routed by no experiment are left out."""
    groups = await handlers.funnel_metrics(
        rt, "routing_variant", start_of(first), end_of(last), min_verdicts
    )
    arms = [_arm(g) for g in groups if g.key is not None and g.key != NO_VARIANT]
    return sorted(arms, key=lambda a: (a["experiment"], a["arm"]))


def _arm(g: GroupMetrics) -> dict[str, Any]:
    experiment, _, arm = (g.key or "").rpartition("/")
    return {"experiment": experiment, "arm": arm, "leads": g.leads, "mqls": g.mqls,
            "won": g.won, "lost": g.lost, "win_rate": g.win_rate, "interval": g.win_interval,
            "revenue": g.revenue, "currency": g.currency}  # fmt: skip


def _shown(row: LabSimulation, now: datetime) -> tuple[str, str]:
    """The status and summary line shown: one waiting past its answer's deadline failed."""
    status = lab_view.shown_status(row.status, row.requested_at, now)
    if status != row.status:
        return status, lab_view.no_answer(row.kind)
    return status, lab_view.summary(row.kind, row.status, row.report)


async def _page(
    rt: RT,
    settings: Config,
    *,
    drafts: dict[str, lab_view.Draft] | None = None,
    from_: str | None = None,
    to: str | None = None,
    status: int = 200,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    today = datetime.now(UTC).date()
    first, last, period_errors = period(from_, to, today)
    forms = {kind: lab_view.blank(kind, today) for kind in get_args(lab.Kind)}
    forms |= drafts or {}
    rows = await lab_store.recent(rt)
    now = datetime.now(UTC)
    listed = [(row, *_shown(row, now)) for row in rows]
    arms = await _experiments(rt, first, last, settings.min_verdicts)
    reported = await lab_experiments.recent(rt)
    names = await lab_store.rep_names(rt, lab_experiments.rep_ids(reported))
    page = render(
        "lab.html",
        status,
        forms=forms,
        simulations=listed,
        experiments=[lab_experiments.shown(row, names) for row in reported],
        arms=arms,
        first=first,
        last=last,
        errors=[*(errors or []), *period_errors],
    )
    page.headers.update(headers or {})
    return page


@router.get(
    "/lab",
    response_class=HTMLResponse,
    summary="The what-if lab page (HTML): simulations and experiments. Without a login, the "
    "login form",
    description=(
        "Forms to run a routing simulation (window, draft rule set, rep changes) and a "
        "scoring simulation (window, draft rules, threshold); the newest 50 simulations "
        "(asked for here or through the services' APIs) with their status and headline "
        "figures; the routing experiments as sales-assignment last reported them (mode, status, "
        "since when; in shadow, the share of decisions the variant would have made otherwise "
        "and per rep actual vs shadow); the experiments' arms (the funnel grouped by routing "
        "variant) for "
        "the leads captured from `from` to `to` (the last 30 days by default); a link to the "
        "fairness ledger. Same session as the dashboard. " + roles_text("admin", "analyst")
    ),
)
async def lab_page(request: Request, rt: RT, settings: Config, days: Days) -> HTMLResponse:
    if await auth.session_principal(request) is None:
        return login_page(request, days)
    return await _page(rt, settings, from_=days.from_, to=days.to)


def requested_by(principal: Principal) -> str:
    """Who asked, without anything personal: the role and the token's id."""
    return f"{principal.role}:{principal.token_id or principal.source}"[:200]


def _wait(request: Request, principal: Principal) -> float:
    """Seconds until this login's token may ask for another simulation (0: now)."""
    limits: TokenBuckets = request.app.state.lab_limits
    key = f"{principal.role}:{principal.token_id or principal.subject or principal.source}"
    return limits.take(key)


# One path template for the form post (a kind) and the report page (an id): two templates
# matching the same URLs made the 405 answer's Allow header list a method the other
# template's document did not (schemathesis' allowed-methods check).
SIMULATIONS = "/lab/simulations/{ref}"
Kind = Annotated[str, Path(alias="ref", description="`routing` or `scoring`")]
SimulationRef = Annotated[str, Path(alias="ref", description="The simulation's id")]


@router.post(
    SIMULATIONS,
    response_class=HTMLResponse,
    summary="Run a routing or scoring simulation from the lab page (form post)",
    description=(
        "`ref` is the kind: `routing` (fields `from`, `to`, `rules`: a JSON array, `reps`: a JSON "
        "array of rep changes) or `scoring` (`from`, `to`, `rules`: a JSON object, "
        "`threshold`: 0–100). Stored as `requested` and published on `leadflow.lab` in one "
        "transaction; the service that runs it reports back the same way. Then 303 to the "
        "simulation's page. A cross-site post is refused (the session cookie is "
        "SameSite=Strict; `Sec-Fetch-Site` other than same-origin gets 403). Each login's "
        "token may ask for 10 a minute (LEADFLOW_LAB_SIMULATIONS_PER_MINUTE, _BURST); past "
        "that 429 with Retry-After. " + roles_text("admin", "analyst")
    ),
    responses=form_post_responses(
        "Requested: to its page",
        (400, "Not a form of at most 20 fields in UTF-8"),
        (403, "A post from another site"),
        (404, "Not a kind of simulation"),
        (413, "A form over 256 KiB"),
        (422, "A wrong field: the page again, with what was wrong"),
        (429, "Too many simulations asked for by this login's token (Retry-After)"),
    ),
)
async def run_simulation(request: Request, kind: Kind, rt: RT, settings: Config) -> Response:
    principal = await auth.session_principal(request)
    if principal is None:
        return RedirectResponse("/lab", status_code=303, headers={"Cache-Control": "no-store"})
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return render("lab_error.html", 403, message="A post from another site is refused.")
    if kind not in get_args(lab.Kind):
        return render("lab_error.html", 404, message="No such kind of simulation.")
    if (wait := _wait(request, principal)) > 0:
        after = retry_after(wait)
        said = f"Too many simulations asked for; try again in {after} s."
        return await _page(rt, settings, status=429, errors=[said], headers={"Retry-After": after})
    form = await read_form(request, LAB_FORM)
    if isinstance(form, Refused):
        return await _page(rt, settings, status=form.status, errors=[form.message])
    draft = lab_view.read_form(cast(lab.Kind, kind), form)
    if draft.request is None:
        return await _page(rt, settings, drafts={kind: draft}, status=422)
    simulation_id = await lab_store.request_simulation(
        rt,
        cast(lab.Kind, kind),
        draft.request,
        requested_by=requested_by(principal),
        now=datetime.now(UTC),
    )
    return RedirectResponse(
        f"/lab/simulations/{simulation_id}", status_code=303, headers={"Cache-Control": "no-store"}
    )


@router.get(
    SIMULATIONS,
    response_class=HTMLResponse,
    summary="One simulation's report (HTML)",
    description=(
        "Routing: the headline figures, actual vs simulated leads per rep, the leads that "
        "would move (at most 500 shown) and the decisions the active rules do not "
        "reproduce, each with its reason. Scoring: MQLs now and with the draft, the leads "
        "whose qualification changes, win rate and revenue each way with 95 % intervals. "
        "While it waits or runs the page reloads itself every 3 s; one still unanswered "
        "90 minutes after it was asked for (the services run a request within the hour, "
        "and may hold it 30 minutes) is shown failed, with no answer from the service. "
        + roles_text("admin", "analyst")
    ),
    responses={404: {"description": "No such simulation", "content": {"text/html": {}}}},
)
async def simulation_page(request: Request, simulation_id: SimulationRef, rt: RT) -> HTMLResponse:
    if await auth.session_principal(request) is None:
        return login_page(request)
    try:
        sid = uuid.UUID(simulation_id)
    except ValueError:
        sid = None
    found = await lab_store.find(rt, sid) if sid is not None else None
    if found is None:
        return render("lab_error.html", 404, message="No such simulation.")
    report = found.report or {}
    reps: dict[str, str] = {}
    if found.kind == "routing" and found.status == "done":  # names are not kept: ours
        reps = lab_view.added_names(found.request)
        reps |= await lab_store.rep_names(rt, lab_view.rep_ids(report))
    status, summary = _shown(found, datetime.now(UTC))
    return render(
        "lab_simulation.html",
        sim=found,
        shown=status,
        report=report,
        reps=reps,
        summary=summary,
        errors=lab_view.error_lines(found.report),
        waiting=status in ("requested", "running"),
    )
