"""`leadflow routing fairness`: sales-assignment's fairness ledger as a table (or JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def fairness_table(doc: dict[str, Any]) -> Table:
    """One row per rep: eligible decisions, expected and actual leads, the gap, declines,
    skips."""
    t = Table(
        title=f"Fairness {doc['from']} → {doc['to']}: {doc['decisions']} decision(s)",
        caption=_caption(doc),
    )
    t.add_column("rep")
    for col in ("eligible", "expected", "actual", "actual − expected", "declined"):
        t.add_column(col, justify="right")
    t.add_column("skipped")
    for rep in doc["reps"]:
        name = escape(str(rep["name"] or rep["rep_id"]))
        if not rep["active_now"]:
            name += " [dim](inactive now)[/]"
        gap = rep["actual"] - rep["expected"]
        skipped = ", ".join(f"{k} {v}" for k, v in rep["skipped"].items())
        t.add_row(
            name,
            str(rep["eligible"]),
            f"{rep['expected']:.2f}",
            str(rep["actual"]),
            f"{gap:+.2f}",
            str(rep.get("declined", 0)),  # of actual; a server before the count sends none
            escape(skipped) or "–",
        )
    return t


def _caption(doc: dict[str, Any]) -> str:
    since = doc.get("ledger_since")
    if since is None:
        return "The ledger holds no decision yet."
    return f"The ledger holds decisions since {since}; older ones were recorded without weights."


def get_json(
    url: str, path: str, token: str, params: dict[str, str], *, timeout: float, err: Console
) -> dict[str, Any] | int:
    """GET a service's JSON with a bearer token: the document, or the exit code after
    printing why not (1 refused, with each named field; 2 no answer or a server error)."""
    try:
        r = httpx.get(
            f"{url.rstrip('/')}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]{escape(url)}: {type(exc).__name__}: {escape(str(exc))}[/]")
        return 2
    try:
        doc = r.json()
    except ValueError:
        doc = {}
    if r.status_code != 200:
        for e in (doc.get("errors") if isinstance(doc, dict) else None) or []:
            err.print(f"{escape(str(e.get('field')))}: {escape(str(e.get('message')))}")
        detail = doc.get("detail") if isinstance(doc, dict) else None
        err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")
        return 1 if r.status_code < 500 else 2
    found: dict[str, Any] = doc
    return found


def show(
    url: str,
    path: str,
    token: str,
    params: dict[str, str],
    table: Callable[[dict[str, Any]], Table],
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """GET `path` and print it as `table` (or the API's JSON); the exit code (0, 1 refused,
    2 no answer)."""
    doc = get_json(url, path, token, params, timeout=timeout, err=err)
    if isinstance(doc, int):
        return doc
    if as_json:
        out.print_json(json.dumps(doc))
    else:
        out.print(table(doc))
    return 0


def fairness(
    url: str,
    token: str,
    start: str,
    end: str,
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """Ask `GET /v1/routing/fairness` and print it; the exit code (0, 1 refused, 2 no answer)."""
    params = {"from": start, "to": end}
    return show(url, "/v1/routing/fairness", token, params, fairness_table,
                timeout=timeout, as_json=as_json, out=out, err=err)  # fmt: skip
