"""`leadflow scoring simulate`: lead-scoring's simulation of a draft rule set or threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

PATH = "/v1/scoring/simulations"


def request_body(start: str, end: str, rules: Path | None, threshold: int | None) -> dict[str, Any]:
    """The POST body; raises ValueError naming the file when the rules are not JSON."""
    body: dict[str, Any] = {"from": start, "to": end}
    if rules is not None:
        try:
            body["rules"] = json.loads(rules.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ValueError(f"{rules}: not a JSON rule set ({exc})") from exc
    if threshold is not None:
        body["threshold"] = threshold
    return body


def _rate(way: dict[str, Any]) -> str:
    if way["win_rate"] is None:
        return "not enough verdicts"
    return f"{way['win_rate']:.1%} ({way['wilson_lower']:.1%}–{way['wilson_upper']:.1%})"


def _revenue(way: dict[str, Any]) -> str:
    sums = [f"{r['amount']} {r['currency']}" for r in way["revenue"]]
    if way["won_without_amount"]:
        sums.append(f"+{way['won_without_amount']} won without an amount")
    return ", ".join(sums) or "–"


def _ids(changed: dict[str, Any]) -> str:
    shown = ", ".join(changed["lead_ids"][:5])
    more = changed["count"] - min(5, len(changed["lead_ids"]))
    return f"{changed['count']}" + (f": {shown}" if shown else "") + (f" … +{more}" if more else "")


def _version(way: dict[str, Any]) -> str:
    found = str(way["rules_version"])
    return found if found == "draft" else f"version {found}"


def simulation_table(doc: dict[str, Any]) -> Table:
    """Now vs the draft: thresholds, MQLs, verdicts, win rate with its interval, revenue."""
    now, draft = doc["outcomes"]["now"], doc["outcomes"]["draft"]
    learned = doc["learned"]
    t = Table(
        title=f"Scoring simulation {doc['from']} → {doc['to']}: {doc['leads']} lead(s), "
        f"{doc['erased']} erased",
        caption=f"Became MQL {_ids(doc['became_mql'])}\nStopped being MQL "
        f"{_ids(doc['stopped_being_mql'])}\nLearned part {learned['version']} (weight "
        f"{learned['weight']}) both ways: not a draft parameter. No rate under "
        f"{doc['min_verdicts']} verdicts; win rate = won / (won + lost + rejected), 95 % "
        "Wilson interval.",
    )
    t.add_column("")
    t.add_column("now", justify="right")
    t.add_column("draft", justify="right")
    rows = [
        ("rules", _version(doc["now"]), _version(doc["draft"])),
        ("threshold", str(doc["now"]["threshold"]), str(doc["draft"]["threshold"])),
        ("MQLs", str(doc["mqls_now"]), str(doc["mqls_draft"])),
        *((k, str(now[k]), str(draft[k])) for k in ("won", "lost", "rejected")),
        ("win rate", _rate(now), _rate(draft)),
        ("revenue", _revenue(now), _revenue(draft)),
    ]
    for name, a, b in rows:
        t.add_row(name, escape(a), escape(b))
    return t


def simulate(
    url: str,
    token: str,
    body: dict[str, Any],
    *,
    timeout: float,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """POST the simulation and print its answer; the exit code (0, 1 refused, 2 no answer)."""
    try:
        r = httpx.post(
            f"{url.rstrip('/')}{PATH}",
            json=body,
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
    if r.status_code != 200 or not isinstance(doc, dict):
        for e in (doc.get("errors") if isinstance(doc, dict) else None) or []:
            err.print(f"{escape(str(e.get('field')))}: {escape(str(e.get('message')))}")
        detail = doc.get("detail") if isinstance(doc, dict) else None
        err.print(f"[red]HTTP {r.status_code}: {escape(str(detail or r.text[:500]))}[/]")
        return 1 if r.status_code < 500 else 2
    if as_json:
        out.print_json(json.dumps(doc))
    else:
        out.print(simulation_table(doc))
    return 0
