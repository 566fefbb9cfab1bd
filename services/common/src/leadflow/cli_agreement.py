"""`leadflow agreement status`: feedback's marketing–sales agreement for a month, as a table."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadflow.cli_http import show

STATE = {True: "[green]on track[/]", False: "[red]off track[/]", None: "not enough data"}


# How the terminal writes each promise's figures (the dashboard writes its own).
FORMATS = {
    "min_acceptance_rate": lambda v: f"{v:.1%}".replace("%", " %"),
    "contact_within_minutes": lambda v: f"{v:.0f} min",
}


def shown(value: float | None, promise: str) -> str:
    """A count, a percentage or minutes; a dash for none."""
    return "–" if value is None else FORMATS.get(promise, lambda v: f"{v:,.0f}")(value)


def status_table(doc: dict[str, Any]) -> Table:
    """One row per promise: team, promise (and source), target, actual, projection, status."""
    t = Table(
        title=f"The agreement, {doc['month']}: {doc['days_elapsed']:.1f} of "
        f"{doc['days_in_month']} days",
        caption=f"No rate under {doc['min_verdicts']} verdicts, no MQL projection under "
        f"{doc['min_projection_days']} days.",
    )
    for col in ("team", "promise"):
        t.add_column(col)
    for col in ("target", "actual", "projection", "days"):
        t.add_column(col, justify="right")
    t.add_column("status")
    for p in doc["promises"]:
        name = p["promise"] + (f" · {p['source']}" if p["source"] else "")
        actual = shown(p["actual"], p["promise"])
        if p["wilson_lower"] is not None and p["wilson_upper"] is not None:
            low, high = (
                shown(p["wilson_lower"], p["promise"]),
                shown(p["wilson_upper"], p["promise"]),
            )
            actual += f" ({low}–{high})"
        t.add_row(
            p["team"],
            escape(name),
            shown(p["target"], p["promise"]),
            actual,
            shown(p["projection"], p["promise"]),
            str(p["projection_days"]),
            STATE[p["on_track"]],
        )
    return t


def status(
    url: str,
    token: str,
    month: str | None,
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """Ask `GET /v1/agreement/status` and print it; the exit code (0, 1 refused, 2 no answer)."""
    params = {"month": month} if month else {}
    return show(url, "/v1/agreement/status", token, params, status_table,
                timeout=timeout, as_json=as_json, out=out, err=err)  # fmt: skip
