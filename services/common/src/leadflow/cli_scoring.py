"""`leadflow scoring simulate`: lead-scoring's simulation of a draft rule set or threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leadflow import cli_http
from leadflow.cli_http import (
    DEFAULT_URLS,
    ScoringUrl,
    Token,
    client,
    finish,
    printed,
    request_json,
)

PATH = "/v1/scoring/simulations"

scoring_app = typer.Typer(help="Lead scoring in lead-scoring.", no_args_is_help=True)


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
    wait: float = 300.0,
    as_json: bool,
    out: Console,
    err: Console,
) -> int:
    """POST the simulation (waiting a turn, up to `wait` seconds, while the service runs as
    many as it may) and print its answer; the exit code (0, 1 refused, 2 no answer or no
    turn in time)."""
    with client(url, token, timeout) as http:
        doc = request_json(http, "POST", PATH, body=body, wait=wait, err=err)
    return printed(doc, simulation_table, as_json=as_json, out=out)


@scoring_app.command("simulate")
def scoring_simulate(  # noqa: PLR0917
    token: Token,
    from_: Annotated[
        str, typer.Option("--from", help="leads last scored at or after (ISO date or date-time)")
    ],
    to: Annotated[
        str, typer.Option("--to", help="leads last scored before (ISO date or date-time)")
    ],
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="a draft rule set (JSON, as PUT /v1/scoring/rules takes)"),
    ] = None,
    threshold: Annotated[
        int | None, typer.Option("--threshold", help="a draft threshold (0-100)")
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="seconds to wait for a turn while others run (429)"),
    ] = 300.0,
    scoring_url: ScoringUrl = DEFAULT_URLS["lead-scoring"],
    timeout: Annotated[float, typer.Option(help="seconds")] = 120.0,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
) -> None:
    """MQLs, verdicts, win rate and revenue of past leads, now and with a draft.

    POST /v1/scoring/simulations with an analyst or admin token (--token): the leads last
    scored in the window, scored with the active rules and with --rules and/or --threshold.
    Nothing changes. While the service runs as many simulations as it may (429), waits its
    turn as Retry-After says, up to --wait seconds. Exits 1 when the service refuses (a bad
    window or rule, a wrong token), 2 on an unreadable rules file, when the service cannot be
    reached or gives no turn within --wait.
    """
    try:
        body = request_body(from_, to, rules, threshold)
    except ValueError as exc:
        cli_http.err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc
    out, err = cli_http.console, cli_http.err
    finish(simulate(scoring_url, token, body, timeout=timeout, wait=wait, as_json=as_json,
                    out=out, err=err))  # fmt: skip
